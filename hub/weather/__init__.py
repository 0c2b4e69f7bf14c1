"""CAP in: the National Weather Service's alerts for the school's zones, proposed as directives."""
