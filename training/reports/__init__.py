"""The Learning & Development Subgroup's reports: summary, charts, exports."""
