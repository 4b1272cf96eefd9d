"""GPEN (blind face restoration): the network, its detector, and restoring aligned face crops."""
