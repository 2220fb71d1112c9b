"""Order types and brokers behind :mod:`cvxport.broker_bridge`, the public module."""
