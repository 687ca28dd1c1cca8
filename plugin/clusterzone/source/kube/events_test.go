package kube

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clusterzone/clusterzone/test/harness"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestEventRecorder(t *testing.T) {
	client := fake.NewClientset()
	rec, stop := NewEventRecorder(client, "clusterzone")
	defer stop()

	// A translation, as the Sink gets it from the informer.
	out, err := Transformer(testOpts)(fullService())
	if err != nil {
		t.Fatal(err)
	}
	ref := ServiceReference(out.(*Translated).Result())
	rec.Event(ref, corev1.EventTypeWarning, "NameConflict", "web.example.org is already published by prod/other")

	var ev corev1.Event
	harness.Eventually(t, 10*time.Second, func() error {
		list, err := client.CoreV1().Events("prod").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("%d events", len(list.Items))
		}
		ev = list.Items[0]
		return nil
	})
	if ev.Reason != "NameConflict" || ev.Type != corev1.EventTypeWarning ||
		ev.Message != "web.example.org is already published by prod/other" || ev.Source.Component != "clusterzone" {
		t.Errorf("event = %+v", ev)
	}
	want := corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: "prod", Name: "web", UID: "1234-5678"}
	if ev.InvolvedObject != want {
		t.Errorf("involvedObject = %+v, want %+v", ev.InvolvedObject, want)
	}

	stop()
	stop() // twice is fine
	rec.Event(ref, corev1.EventTypeWarning, "After", "dropped")
	rec.Event(nil, corev1.EventTypeWarning, "Nil", "dropped")
}
