package clusterzone

import (
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/source/kube"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
	"github.com/clusterzone/clusterzone/plugin/clusterzone/translate"

	corev1 "k8s.io/api/core/v1"
)

// reporter turns what the store does into log lines, metrics and Kubernetes
// Events on the Services concerned.
type reporter struct {
	ownerID string
	events  kube.EventRecorder // nil: no events
}

// Problem implements store.Observer.
func (r *reporter) Problem(svc *translate.Result, p translate.Problem) {
	invalidCount.WithLabelValues(p.Reason).Inc()
	log.Warningf("Service %s: %s", svc.Key, p.Message)
	if r.events != nil && svc.UID != "" {
		r.events.Event(kube.ServiceReference(svc), corev1.EventTypeWarning, "InvalidDNSAnnotation", p.Message)
	}
}

// Skipped implements store.Observer.
func (r *reporter) Skipped(svc *translate.Result, reason string) {
	label := "ignore"
	switch {
	case strings.HasPrefix(reason, "controller"):
		label = "controller"
	case strings.HasPrefix(reason, "type"):
		label = "service_type"
	}
	skippedCount.WithLabelValues(label).Inc()
	log.Infof("Service %s skipped: %s", svc.Key, reason)
}

// Conflict implements store.Observer.
func (r *reporter) Conflict(loser *translate.Result, c table.Conflict) {
	conflictCount.Inc()
	// Also when this Service held the name and an older one took it over.
	msg := "name " + c.Name + " is published by Service " + c.Winner.Key +
		" instead (of the Services claiming a name, the oldest keeps it; same age: first by namespace/name)"
	log.Warningf("Service %s: %s", c.Loser.Key, msg)
	if r.events != nil && loser != nil && loser.UID != "" {
		r.events.Event(kube.ServiceReference(loser), corev1.EventTypeWarning, "DNSNameConflict", msg)
	}
}

// Applied implements store.Observer.
func (r *reporter) Applied(ch table.Change) {
	changeCount.Add(float64(len(ch.Names)))
}

// gauges refreshes the table gauges after a change.
func (r *reporter) gauges(t *table.Table) {
	for _, z := range t.Zones() {
		serialGauge.WithLabelValues(z).Set(float64(t.PeekSerial(z)))
		_, changes := t.JournalLen(z)
		journalGauge.WithLabelValues(z).Set(float64(changes))
	}
	namesGauge.Set(float64(t.Len()))
	servicesGauge.Set(float64(t.OwnerCount()))
}
