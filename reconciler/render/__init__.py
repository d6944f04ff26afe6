"""Views of a plan: text (terminal), JSON and Markdown. Pure: each returns a string or a
rich renderable and never changes what apply does."""
