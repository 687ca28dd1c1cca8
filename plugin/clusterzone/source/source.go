// Package source is the contract between the sources of cluster state (the
// API server's informers in source/kube, manifest files in
// source/manifests) and the store that turns it into records: every source
// feeds a Sink with translations, never with Kubernetes objects.
package source

import "github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

// Sink receives the state a source watches, translated. A source never calls
// its Sink's methods concurrently and calls them as it learns of each
// change, so they must be cheap. What it passes is shared with the source
// (an informer's cache) and must not be modified.
type Sink interface {
	// Upsert adds or updates a Service's translation (translate.Service).
	Upsert(res *translate.Result)
	// Delete removes the Service with key "namespace/name".
	Delete(key string)
	// UpsertEndpoints adds or updates an EndpointSlice
	// (translate.FromEndpointSlice).
	UpsertEndpoints(es *translate.EndpointSlice)
	// DeleteEndpoints removes the EndpointSlice with key "namespace/name".
	DeleteEndpoints(key string)
	// UpsertNode adds or updates a Node (translate.FromNode).
	UpsertNode(n *translate.Node)
	// DeleteNode removes the Node named name.
	DeleteNode(name string)
	// MarkSynced is called once, when the first full state of every kind
	// the source watches has been delivered.
	MarkSynced()
}
