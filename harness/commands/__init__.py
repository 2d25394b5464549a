"""One module per `mt-harness` subcommand: argument parsing and printing around the plain functions of the
package. `harness/cli.py` only dispatches to them."""
