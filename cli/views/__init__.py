"""The views of each command, beside it: `zoo.cli.views.bench` for `zoo bench`, and so on.
The toolkit they are built with (tables, key-value lists, one-line errors) is
`zoo.cli.render`."""
