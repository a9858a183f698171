"""The registry of areas, grids, units, workers and residents (`records`), and its workbook: the sheet
format (`workbook`), import with validation (`importer`) and export (`exporter`); what the hot path reads of
it, cached per process until the registry changes in any process (`cache`)."""
