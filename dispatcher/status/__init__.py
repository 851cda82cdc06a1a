"""The public status page for the municipalities: a read model of the store.

`queries` reads what the municipalities have been told (no drills, no held notices, no
people), `view` turns those rows into a `StatusView` for one `now`, and `pages`, `feed` and
`document` write it as HTML, Atom and JSON. Nothing here changes the database.
"""
