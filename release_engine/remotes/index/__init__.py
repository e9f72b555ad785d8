"""The package index: uploads, what it serves, yanking."""
