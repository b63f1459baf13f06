"""How questions and passages are read: the question's weighted terms and what a text holds of them (terms.py),
kinds of value asked for and stated (values.py), request validation (validation.py), text a passage plants
as instructions (safety.py). Used by the pipeline's stages; knows nothing of them."""
