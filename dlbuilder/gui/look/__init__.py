"""How the app looks: the light and dark themes and the icons drawn in their colours."""
