package clusterzone

// Ready implements the ready.Readiness interface: the plugin is ready once
// its source has delivered the first full state (the informer has synced,
// or the manifest files have been read).
func (cz *Clusterzone) Ready() bool { return cz.shared.ready() }
