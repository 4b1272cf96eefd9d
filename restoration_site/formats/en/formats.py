# One date format for English pages: "4 Dec 2026" (the |date filter with no argument uses DATE_FORMAT).
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
