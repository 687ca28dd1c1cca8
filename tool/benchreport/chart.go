package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var (
	white   = color.RGBA{255, 255, 255, 255}
	black   = color.RGBA{20, 20, 20, 255}
	grey    = color.RGBA{150, 150, 150, 255}
	light   = color.RGBA{225, 225, 225, 255}
	palette = []color.RGBA{
		{31, 119, 180, 255},  // blue
		{255, 127, 14, 255},  // orange
		{44, 160, 44, 255},   // green
		{214, 39, 40, 255},   // red
		{148, 103, 189, 255}, // purple
		{140, 86, 75, 255},   // brown
	}
)

// series is one kind of bar in a grouped bar chart.
type series struct {
	name  string
	color color.RGBA
}

// group is one row of bars: one value per series (NaN: no bar).
type group struct {
	label  string
	values []float64
	// whiskers, when set, are [min, max] per series.
	whiskers [][2]float64
}

type panel struct {
	title  string
	unit   string
	log    bool
	series []series
	groups []group
}

// writeChart draws the report's figures as a PNG: QPS and latency
// percentiles per contender, propagation delays, heap per Service, and the
// headless benchmark's memory and readiness delays.
func writeChart(path string, r *Report) error {
	var panels []panel
	if r.Serve != nil {
		s := r.Serve.Results
		qps := panel{title: fmt.Sprintf("Throughput, %d names: QPS (median of %d rounds, whisker min..max)", s.Names, s.Rounds), unit: "QPS",
			series: []series{{"QPS", palette[0]}}}
		lat := panel{title: fmt.Sprintf("Latency at %d QPS offered (ms, log scale)", s.LatencyQPS), unit: "ms", log: true,
			series: []series{{"p50", palette[2]}, {"p90", palette[0]}, {"p99", palette[1]}, {"p99.9", palette[3]}}}
		for _, c := range s.Contenders {
			lo, hi := c.QPSMedian, c.QPSMedian
			for _, v := range c.QPS {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			qps.groups = append(qps.groups, group{label: c.Name, values: []float64{c.QPSMedian}, whiskers: [][2]float64{{lo, hi}}})
			lat.groups = append(lat.groups, group{label: c.Name, values: []float64{c.Latency.P50, c.Latency.P90, c.Latency.P99, c.Latency.P999}})
		}
		panels = append(panels, qps, lat)
	}
	if r.Propagation != nil {
		pp := panel{title: "Propagation: API write -> new answer served (ms)", unit: "ms",
			series: []series{{"p50", palette[2]}, {"p90", palette[0]}, {"p99", palette[1]}}}
		for _, x := range r.Propagation.Results.Summaries {
			if x.Kind == "all" {
				continue
			}
			pp.groups = append(pp.groups, group{label: fmt.Sprintf("%s %s (%d)", short(x.Contender), x.Kind, x.N), values: []float64{x.P50, x.P90, x.P99}})
		}
		panels = append(panels, pp)
	}
	if r.Heap != nil {
		hp := panel{title: "Heap per Service (bytes, after GC, less the whoami baseline)", unit: "B",
			series: []series{{"clusterzone", palette[0]}, {"kubernetes", palette[4]}}}
		for _, sc := range r.Heap.Results.Scales {
			hp.groups = append(hp.groups, group{label: fmt.Sprintf("%d Services", sc.Services), values: []float64{sc.ClusterzonePerService, sc.KubernetesPerService}})
		}
		panels = append(panels, hp)
	}
	if r.Headless != nil {
		s := r.Headless.Results
		mem := panel{title: fmt.Sprintf("Headless, %d Services x %d Pods: memory (MiB)", s.Services, s.PodsPerService), unit: "MiB",
			series: []series{{"heap", palette[0]}, {"RSS", palette[1]}}}
		for _, row := range []struct {
			name string
			s    HeapSample
		}{{"baseline (whoami)", s.Baseline}, {"clusterzone", s.Clusterzone}, {"ExternalDNS", s.ExternalDNS}} {
			mem.groups = append(mem.groups, group{label: row.name, values: []float64{row.s.Alloc / (1 << 20), row.s.RSS / (1 << 20)}})
		}
		panels = append(panels, mem)
		if len(s.Readiness) > 0 {
			rd := panel{title: "Headless: Pod readiness write -> answer changed (ms, log scale)", unit: "ms", log: true,
				series: []series{{"p50", palette[2]}, {"p90", palette[0]}, {"p99", palette[1]}}}
			for _, x := range s.Readiness {
				if x.Kind == "unready" || x.Kind == "ready" {
					continue
				}
				rd.groups = append(rd.groups, group{label: fmt.Sprintf("%s %s (%d)", x.Contender, x.Kind, x.N), values: []float64{x.P50, x.P90, x.P99}})
			}
			panels = append(panels, rd)
		}
	}
	if len(panels) == 0 {
		return nil
	}

	const pw, ph, header = 760, 380, 40
	cols := 2
	rows := (len(panels) + cols - 1) / cols
	img := image.NewRGBA(image.Rect(0, 0, cols*pw, header+rows*ph))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	commit := r.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	text(img, 12, 24, black, fmt.Sprintf("clusterzone `%s` - commit %s - %s - %d x %s, %.0f GiB", r.Command, commit, r.Date[:10], r.Machine.CPUs, r.Machine.CPU, r.Machine.MemoryGiB))
	for i, p := range panels {
		x0, y0 := (i%cols)*pw, header+(i/cols)*ph
		drawPanel(img, image.Rect(x0+10, y0+5, x0+pw-10, y0+ph-10), p)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func short(s string) string {
	return strings.TrimSuffix(s, "_external")
}

func drawPanel(img *image.RGBA, r image.Rectangle, p panel) {
	rect(img, r, light, false)
	text(img, r.Min.X+8, r.Min.Y+18, black, p.title)
	// Legend.
	lx := r.Min.X + 8
	if len(p.series) > 1 {
		for _, s := range p.series {
			rect(img, image.Rect(lx, r.Min.Y+27, lx+12, r.Min.Y+37), s.color, true)
			text(img, lx+16, r.Min.Y+37, black, s.name)
			lx += 16 + 7*len(s.name) + 14
		}
	}
	const labelW = 205
	plot := image.Rect(r.Min.X+labelW, r.Min.Y+48, r.Max.X-70, r.Max.Y-34)

	// Scale.
	lo, hi := math.Inf(1), 0.0
	for _, g := range p.groups {
		for i, v := range g.values {
			if v > 0 && !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			if g.whiskers != nil {
				hi = math.Max(hi, g.whiskers[i][1])
			}
		}
	}
	if hi == 0 {
		return
	}
	var pos func(v float64) int
	var ticks []float64
	if p.log {
		a, b := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if a == b {
			b++
		}
		pos = func(v float64) int {
			if v <= 0 {
				return plot.Min.X
			}
			f := (math.Log10(v) - a) / (b - a)
			return plot.Min.X + int(math.Max(0, f)*float64(plot.Dx()))
		}
		for e := a; e <= b; e++ {
			ticks = append(ticks, math.Pow(10, e))
		}
	} else {
		top, step := niceScale(hi)
		pos = func(v float64) int { return plot.Min.X + int(v/top*float64(plot.Dx())) }
		for t := 0.0; t <= top*1.0001; t += step {
			ticks = append(ticks, t)
		}
	}
	for _, t := range ticks {
		x := pos(t)
		vline(img, x, plot.Min.Y, plot.Max.Y, light)
		l := num(t)
		text(img, x-len(l)*7/2, plot.Max.Y+14, grey, l)
	}
	text(img, plot.Max.X-7*len(p.unit), plot.Max.Y+27, grey, p.unit)

	// Bars.
	n := len(p.groups)
	if n == 0 {
		return
	}
	rowH := float64(plot.Dy()) / float64(n)
	k := len(p.series)
	barH := math.Min(22, (rowH-6)/float64(k))
	for gi, g := range p.groups {
		y := plot.Min.Y + int(float64(gi)*rowH+(rowH-barH*float64(k))/2)
		text(img, r.Min.X+8, y+int(barH*float64(k)/2)+5, black, g.label)
		for si, v := range g.values {
			if math.IsNaN(v) || v <= 0 {
				continue
			}
			y0 := y + int(float64(si)*barH)
			y1 := y + int(float64(si+1)*barH) - 1
			x1 := pos(v)
			rect(img, image.Rect(plot.Min.X, y0, x1, y1), p.series[si].color, true)
			end := x1
			if g.whiskers != nil {
				w := g.whiskers[si]
				ym := (y0 + y1) / 2
				hline(img, pos(w[0]), pos(w[1]), ym, black)
				vline(img, pos(w[0]), y0+3, y1-3, black)
				vline(img, pos(w[1]), y0+3, y1-3, black)
				end = max(end, pos(w[1]))
			}
			text(img, end+4, (y0+y1)/2+5, black, num(v))
		}
	}
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, black)
}

// niceScale returns an axis maximum >= hi and its tick step.
func niceScale(hi float64) (top, step float64) {
	e := math.Pow(10, math.Floor(math.Log10(hi)))
	for _, m := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		step = m * e
		if hi/step <= 6 {
			break
		}
	}
	return math.Ceil(hi*1.08/step) * step, step
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
}

func text(img *image.RGBA, x, y int, c color.Color, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func rect(img *image.RGBA, r image.Rectangle, c color.RGBA, fill bool) {
	if fill {
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
		return
	}
	hline(img, r.Min.X, r.Max.X, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X, r.Max.Y, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, c)
	vline(img, r.Max.X, r.Min.Y, r.Max.Y, c)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := min(x0, x1); x <= max(x0, x1); x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := min(y0, y1); y <= max(y0, y1); y++ {
		img.SetRGBA(x, y, c)
	}
}
