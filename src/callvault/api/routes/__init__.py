"""The API's routes, one module per group; each route names the roles it admits."""
