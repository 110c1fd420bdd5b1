"""The structural checks of deploy/validate.py, one module per kind of deployment file."""
