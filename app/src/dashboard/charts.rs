//! The dashboard's charts, drawn on the server as SVG with plotters (no JavaScript, nothing in the wasm). Each is
//! an image named by its title and described by a summary the page prints under it; the same figures are in the
//! table beside it and in its CSV.

use super::figures::WeekFigures;
use super::Chart;
use plotters::{coord::types::RangedCoordf64, prelude::*};

const WIDTH: u32 = 760;
const HEIGHT: u32 = 320;
/// At least 3:1 against the white background (WCAG 2.1, non-text contrast), and told apart by more than hue:
/// each series also has its own place (bars side by side) or its own marker.
const RAISED: RGBColor = RGBColor(0x5f, 0x6b, 0x7a);
const REACHED: RGBColor = RGBColor(0x1f, 0x5a, 0x85);
const WITH_CASE: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const NOTICE: RGBColor = RGBColor(0xa6, 0x4b, 0x00);
const AXIS: RGBColor = RGBColor(0x33, 0x3d, 0x47);

type Drawn = Result<(), Box<dyn std::error::Error>>;
/// A series of bars: its legend, colour, place beside the week's other bars, and value.
type Bars = (&'static str, RGBColor, f64, fn(&WeekFigures) -> u64);
/// A line: its legend, colour and value (none where a week has none).
type Line = (&'static str, RGBColor, fn(&WeekFigures) -> Option<i64>);

/// Week labels under the axis: every week when few, else every few.
fn week_label(weeks: &[WeekFigures], x: f64) -> String {
    let i = x.round();
    let step = (weeks.len() / 10).max(1);
    if (x - i).abs() > 0.01 || i < 0.0 || !(i as usize).is_multiple_of(step) {
        return String::new();
    }
    weeks
        .get(i as usize)
        .map(|w| w.week[5..].to_owned())
        .unwrap_or_default()
}

/// `svg`'s root element named `title` and described by the element `described_by`, as an image.
fn labelled(svg: String, title: &str, described_by: &str) -> String {
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    match svg.find("<svg") {
        Some(at) => {
            let open = at + 4;
            format!(
                "{} role=\"img\" aria-label=\"{title}\" aria-describedby=\"{described_by}\"{}",
                &svg[..open],
                &svg[open..]
            )
        }
        None => svg,
    }
}

/// The chart every dashboard picture is: the weeks along the bottom, `y_desc` up to `top` on the left; `series`
/// draws into it, and a legend is drawn when `legend`.
fn weekly(
    svg: &mut String,
    weeks: &[WeekFigures],
    (y_desc, top): (&str, f64),
    legend: bool,
    series: impl FnOnce(&mut Weekly<'_, '_>) -> Drawn,
) -> Drawn {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(52)
        .build_cartesian_2d(-0.5f64..weeks.len() as f64 - 0.5, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(weeks.len().max(2))
        .x_label_formatter(&|x| week_label(weeks, *x))
        .y_desc(y_desc)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .axis_style(AXIS)
        .label_style(("sans-serif", 13).into_font().color(&AXIS))
        .draw()?;
    series(&mut chart)?;
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(AXIS)
            .label_font(("sans-serif", 13).into_font().color(&AXIS))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The chart [`weekly`] hands its series.
type Weekly<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw(id: &'static str, title: &'static str, summary: String, paint: impl FnOnce(&mut String) -> Drawn) -> Chart {
    let mut svg = String::new();
    if let Err(error) = paint(&mut svg) {
        tracing::error!(%error, chart = id, "a dashboard chart could not be drawn");
        svg.clear();
    }
    let summary_id = format!("{id}-summary");
    Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        svg: labelled(svg, title, &summary_id),
        summary,
    }
}

/// Alerts raised, those that reached customers, and those that got a proactive case, by week: bars side by side.
pub fn alerts(weeks: &[WeekFigures], all: &WeekFigures) -> Chart {
    let busiest = weeks
        .iter()
        .max_by_key(|w| (w.raised, std::cmp::Reverse(w.week.clone())));
    let summary = format!(
        "Over {} weeks, {} alerts were raised, {} reached customers and {} of those got a proactive case{}.{}",
        weeks.len(),
        all.raised,
        all.reached,
        all.with_case,
        all.case_share().map(|s| format!(" ({s:.0}%)")).unwrap_or_default(),
        busiest
            .filter(|w| w.raised > 0)
            .map(|w| format!(" The busiest week began {}, with {} alerts.", w.week, w.raised))
            .unwrap_or_default()
    );
    draw("chart-alerts", "Alerts by week", summary, |svg| {
        let top = weeks.iter().map(|w| w.raised).max().unwrap_or(0).max(1) as f64 * 1.1;
        weekly(svg, weeks, ("Alerts", top), true, |chart| {
            let series: [Bars; 3] = [
                ("Raised", RAISED, -0.36, |w: &WeekFigures| w.raised),
                ("Reached customers", REACHED, -0.12, |w: &WeekFigures| w.reached),
                ("Got a proactive case", WITH_CASE, 0.12, |w: &WeekFigures| w.with_case),
            ];
            for (label, color, offset, value) in series {
                chart
                    .draw_series(weeks.iter().enumerate().map(|(i, w)| {
                        let x = i as f64 + offset;
                        Rectangle::new([(x, 0.0), (x + 0.22, value(w) as f64)], color.filled())
                    }))?
                    .label(label)
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
            }
            Ok(())
        })
    })
}

/// The medians of alert to case and of case to first notice, by week, in minutes: lines with their own markers.
pub fn speed(weeks: &[WeekFigures], all: &WeekFigures) -> Chart {
    let minutes = |s: Option<i64>| s.map(|s| s as f64 / 60.0);
    let told = |s: Option<i64>| s.map(super::figures::duration).unwrap_or_else(|| "—".into());
    let summary = format!(
        "Over the period, the median time from alert to proactive case was {} (90th percentile {}), and from case to \
         first notice {} (90th percentile {}).",
        told(all.to_case.median),
        told(all.to_case.p90),
        told(all.to_notice.median),
        told(all.to_notice.p90),
    );
    draw("chart-speed", "Time to act, by week", summary, |svg| {
        let top = weeks
            .iter()
            .flat_map(|w| [minutes(w.to_case.median), minutes(w.to_notice.median)])
            .flatten()
            .fold(1.0f64, f64::max)
            * 1.15;
        weekly(svg, weeks, ("Median, minutes", top), true, |chart| {
            let lines: [Line; 2] = [
                ("Alert to case", WITH_CASE, |w| w.to_case.median),
                ("Case to first notice", NOTICE, |w| w.to_notice.median),
            ];
            for (n, (label, color, value)) in lines.into_iter().enumerate() {
                let points: Vec<(f64, f64)> = weeks
                    .iter()
                    .enumerate()
                    .filter_map(|(i, w)| minutes(value(w)).map(|m| (i as f64, m)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
                if n == 0 {
                    chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
                } else {
                    chart.draw_series(points.iter().map(|&p| TriangleMarker::new(p, 5, color.filled())))?;
                }
            }
            Ok(())
        })
    })
}

/// Beat-the-customer: the share of affected accounts told before they called, by week, in percent.
pub fn beat(weeks: &[WeekFigures], all: &WeekFigures) -> Chart {
    let summary = match all.beat_share() {
        Some(share) => format!(
            "Over the period, {} of {} affected accounts ({share:.0}%) were told before they raised a case themselves{}.",
            all.beaten,
            all.accounts,
            all.lead
                .median
                .map(|lead| format!("; those who then called were told a median {} before", super::figures::duration(lead)))
                .unwrap_or_default()
        ),
        None => "No proactive case covered an account in the period.".to_owned(),
    };
    draw("chart-beat", "Beat the customer, by week", summary, |svg| {
        weekly(svg, weeks, ("Accounts told first, %", 100.0), false, |chart| {
            chart.draw_series(weeks.iter().enumerate().filter_map(|(i, w)| {
                w.beat_share()
                    .map(|share| Rectangle::new([(i as f64 - 0.3, 0.0), (i as f64 + 0.3, share)], REACHED.filled()))
            }))?;
            Ok(())
        })
    })
}
