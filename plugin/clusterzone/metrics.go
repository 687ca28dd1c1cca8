package clusterzone

import (
	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// namesGauge is the number of names the record table publishes.
	namesGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "names",
		Help:      "Gauge of names published in the record table.",
	})
	// servicesGauge is the number of Services publishing at least one name.
	servicesGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "services",
		Help:      "Gauge of Services publishing at least one name.",
	})
	// invalidCount counts invalid input dropped, by reason.
	invalidCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "invalid_total",
		Help:      "Counter of invalid names, TTLs and targets dropped from Services, by reason.",
	}, []string{"reason"})
	// skippedCount counts Services skipped by their annotations.
	skippedCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "skipped_total",
		Help:      "Counter of Services skipped by their ignore or controller annotation.",
	}, []string{"reason"})
	// conflictCount counts names a Service lost to another one.
	conflictCount = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "conflicts_total",
		Help:      "Counter of names a Service claimed but another Service holds.",
	})
	// changeCount counts changes applied to the record table.
	changeCount = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "changes_total",
		Help:      "Counter of names whose records changed.",
	})
	// serialGauge is the SOA serial of each zone.
	serialGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "serial",
		Help:      "SOA serial of each zone.",
	}, []string{"zone"})
	// resolverErrors counts failed lookups of load-balancer hostnames.
	resolverErrors = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "resolver_errors_total",
		Help:      "Counter of failed lookups of load-balancer hostnames.",
	})
	// manifestErrors counts manifest files that could not be read or parsed.
	manifestErrors = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "manifest_errors_total",
		Help:      "Counter of manifest files that could not be read or parsed.",
	})
	// notifyCount counts NOTIFY rounds sent, by zone.
	notifyCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "notifies_total",
		Help:      "Counter of NOTIFY rounds sent to secondaries, by zone.",
	}, []string{"zone"})
	// journalGauge is the number of name changes each zone's IXFR journal holds.
	journalGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "ixfr_journal_changes",
		Help:      "Gauge of name changes the IXFR journal holds, by zone.",
	}, []string{"zone"})
	// transferCount counts zone transfers served, by zone and kind.
	transferCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "transfers_total",
		Help:      "Counter of zone transfers served, by zone and kind: axfr, ixfr (incremental), ixfr-current (the single SOA), ixfr-full (the journal did not reach the serial: the whole zone).",
	}, []string{"zone", "kind"})
)
