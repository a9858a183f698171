"""Where a report is: address normalisation (`address`), the unit index (`address_index`) and routing
to a grid and a worker (`routing`)."""
