"""Publishing tasks: deliveries a person carries out on platforms without a publishing API."""
