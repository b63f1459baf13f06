"""Documents -> passages: read a document (`retrieval.readers`), its metadata (sidecar.py, header.py,
cnparse.py), segment it into passages with section paths (segment.py over blocks.py, table_rows.py,
outline.py, regions.py), and compare versions (diff.py). documents.py lists and reads the corpus."""
