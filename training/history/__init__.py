"""History import: past years' attendance brought in from spreadsheets."""
