"""Reports: plots and tables made from the records that runs leave."""
