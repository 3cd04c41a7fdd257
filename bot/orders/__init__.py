"""Order status: order sources behind one port, customer verification, and the status answer."""
