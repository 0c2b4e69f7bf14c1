"""The district console: every school on one board, a school's drill-down (read-only) and
district directives, with the school console's security (hub.access, hub.console_control,
hub.console.security) and its look (the hub's console.css and console.js)."""
