"""The registry of areas, grids, units, workers and residents (`records`), and its workbook: the sheet
format (`workbook`), import with validation (`importer`) and export (`exporter`)."""
