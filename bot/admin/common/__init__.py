"""What every console page uses: the viewer, its database session and CSRF check (`deps`), signed session
cookies (`cookies`), the login throttle (`throttle`), page rendering and form answers (`rendering`), charts."""
