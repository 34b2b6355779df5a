"""Administrative divisions of the province: districts and communes, loaded from a versioned data file."""
