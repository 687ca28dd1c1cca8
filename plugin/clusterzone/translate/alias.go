package translate

import (
	"fmt"
	"strings"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
)

// Annotation keys, after the prefix, of how the Route 53 mirror writes a
// hostname target: ExternalDNS's names (alias is its only provider
// property without the "aws-" prefix).
const (
	AnnotationAlias                   = "alias"
	AnnotationAWSEvaluateTargetHealth = "aws-evaluate-target-health"
)

// ReasonAlias: the alias or aws-evaluate-target-health annotation is
// neither "true" nor "false"; it is ignored.
const ReasonAlias = "invalid_alias"

// aliasOptions reads the alias and aws-evaluate-target-health annotations:
// nil when neither asks for anything. A value that is neither "true" nor
// "false" is a problem and is ignored (ExternalDNS reads anything but
// "true" as false, silently).
func (r *Result) aliasOptions(ann annotations) *table.AliasOptions {
	var o table.AliasOptions
	read := func(key string) (on, set bool) {
		v, ok := ann.get(key)
		if !ok {
			return false, false
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		r.Problems = append(r.Problems, Problem{ReasonAlias, fmt.Sprintf("%s %s is neither \"true\" nor \"false\"; ignored", key, quote(v))})
		return false, false
	}
	o.Alias, _ = read(AnnotationAlias)
	if on, set := read(AnnotationAWSEvaluateTargetHealth); set {
		o.EvaluateTargetHealth = table.TargetHealthOff
		if on {
			o.EvaluateTargetHealth = table.TargetHealthOn
		}
	}
	if o == (table.AliasOptions{}) {
		return nil
	}
	return &o
}
