package translate

import (
	"strings"
	"testing"

	"github.com/clusterzone/clusterzone/plugin/clusterzone/table"
)

func TestAliasOptions(t *testing.T) {
	const A, G = PrefixAlpha, PrefixGA
	for _, tc := range []struct {
		name    string
		ann     map[string]string
		want    *table.AliasOptions
		problem string // part of the one problem expected ("": none)
	}{
		{name: "none", want: nil},
		{name: "alias true", ann: map[string]string{A + "alias": "true"}, want: &table.AliasOptions{Alias: true}},
		{name: "alias false: nothing asked", ann: map[string]string{A + "alias": "false"}, want: nil},
		{name: "evaluate-target-health false", ann: map[string]string{G + "aws-evaluate-target-health": "false"}, want: &table.AliasOptions{EvaluateTargetHealth: table.TargetHealthOff}},
		{name: "both, any case", ann: map[string]string{A + "alias": "True", A + "aws-evaluate-target-health": "TRUE"}, want: &table.AliasOptions{Alias: true, EvaluateTargetHealth: table.TargetHealthOn}},
		{name: "GA prefix wins", ann: map[string]string{A + "alias": "false", G + "alias": "true"}, want: &table.AliasOptions{Alias: true}},
		{name: "alias neither true nor false: ignored, said so", ann: map[string]string{A + "alias": "yes"}, want: nil, problem: `alias "yes" is neither "true" nor "false"`},
		{name: "evaluate-target-health garbage: ignored", ann: map[string]string{A + "alias": "true", A + "aws-evaluate-target-health": "1x"}, want: &table.AliasOptions{Alias: true}, problem: "aws-evaluate-target-health"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ann := map[string]string{PrefixAlpha + "hostname": "web.example.org,other.example.org", PrefixAlpha + "target": "shop.cdn.example.net"}
			for k, v := range tc.ann {
				ann[k] = v
			}
			res := Service(lb("shop", ann), opts)
			if len(res.Endpoints) != 2 {
				t.Fatalf("got %d endpoints, want 2: %+v", len(res.Endpoints), res.Endpoints)
			}
			for _, ep := range res.Endpoints {
				if !ep.AliasOptions.Equal(tc.want) {
					t.Errorf("%s: alias options %+v, want %+v", ep.Name, ep.AliasOptions, tc.want)
				}
			}
			switch {
			case tc.problem == "" && len(res.Problems) > 0:
				t.Errorf("problems %v, want none", res.Problems)
			case tc.problem != "" && (len(res.Problems) != 1 || res.Problems[0].Reason != ReasonAlias || !strings.Contains(res.Problems[0].Message, tc.problem)):
				t.Errorf("problems %v, want one %s containing %q", res.Problems, ReasonAlias, tc.problem)
			}
		})
	}
}
