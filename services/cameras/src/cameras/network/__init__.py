"""The camera network: cameras, the unit or community each covers, the installation plan, health."""
