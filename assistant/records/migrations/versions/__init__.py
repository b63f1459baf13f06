"""One migration per feature, in order: NNNN_<feature>.py."""
