-- GET /healthz: the machine's ceiling for one HTTP round trip.
wrk.method = "GET"
