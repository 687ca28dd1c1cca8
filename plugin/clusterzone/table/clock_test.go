package table

import "time"

// fakeClock is a table's clock for tests: it stands still unless a test
// moves it, and the table's waits (settled) move it instead of sleeping.
type fakeClock struct {
	now time.Time
	tb  *Table
}

// useFakeClock gives tb, just made by New, a fake clock at start. Its timer never fires: tests
// call publishDue, or let Serial and settled publish what is due.
func useFakeClock(tb *Table, start time.Time) *fakeClock {
	c := &fakeClock{now: start, tb: tb}
	tb.now = func() time.Time { return c.now }
	tb.sleep = func(d time.Duration) { c.now = c.now.Add(d) }
	tb.after = func(time.Duration, func()) {}
	for z := range tb.serials {
		tb.serials[z] = uint32(start.Unix()) // as New at start
	}
	return c
}

// tick moves the clock one second on.
func (c *fakeClock) tick() { c.now = c.now.Add(time.Second) }

// read moves the clock one second on and reads the serial of zone (as an
// SOA query does): every read-then-change then gets a serial of its own.
func (c *fakeClock) read(zone string) uint32 {
	c.tick()
	return c.tb.Serial(zone)
}
