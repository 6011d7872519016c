"""Web pages: Jinja2 templates and static assets, all served by zhikong itself."""
