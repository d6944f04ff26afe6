"""Views: one package per kind of report (`plan`, `drift`, `apply`), each choosing its
view for a format in one place (`render_plan`, `render_drift`, `render_report`), as
Terraform's views do. Pure: every view returns a string or a rich renderable and never
changes what apply does. Adding a format: a module in the kind's package, a member of
its format enum and a line in its `VIEWS` table."""
