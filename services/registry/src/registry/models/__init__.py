"""Movement models (mô hình) of the movement, in units and in communities."""
