"""Reference photos of the people in a shot, for recipes that restore faces: the form fields that
take them and the services that check, store and attach them to a job."""
