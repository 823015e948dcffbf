//! Charts with plotters, as SVG and PNG.
//!
//! # Fonts (what we chose)
//! - **SVG** keeps text as text. Its `font-family` is a list of common CJK fonts ending in `sans-serif`
//!   ([`SVG_FAMILY`]), so a browser draws the Chinese labels with whatever CJK font its system has.
//!   Labels are bilingual (`低保在保户数 Households on dibao`).
//! - **PNG** needs glyphs at render time. At run time we look for a CJK font file: the path in the
//!   environment variable `DOUDI_CJK_FONT`, else a list of usual places (Debian/Ubuntu `fonts-noto-cjk`,
//!   `fonts-wqy-microhei`, `fonts-wqy-zenhei`, Fedora, macOS, Windows; `none` skips the search). With one, PNG labels are
//!   bilingual like the SVG ones; without one, PNG labels fall back to English only, drawn with Noto Sans
//!   embedded in the binary (crate `ttf-noto-sans`). Nothing has to be installed by hand.
//! - Text widths (legend boxes) are measured with the CJK font when found, else with Noto Sans.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::OnceLock;

/// The `font-family` written into SVG text.
pub const SVG_FAMILY: &str = "Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif";
const PNG_FAMILY: &str = "doudi-png";

/// Where PNG labels get their glyphs.
#[derive(Debug, Clone)]
pub struct FontInfo {
    /// Whether a CJK font was found (PNG labels are bilingual), else English only.
    pub cjk: bool,
    /// The font file used for PNG text, or `embedded Noto Sans`.
    pub source: String,
}

const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simhei.ttf",
];

/// The bytes of the font PNG text is drawn with (set by [`fonts`]).
static PNG_FONT: OnceLock<&'static [u8]> = OnceLock::new();

/// Registers the fonts once and says which one PNG text uses.
pub fn fonts() -> &'static FontInfo {
    static INFO: OnceLock<FontInfo> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut paths: Vec<String> = Vec::new();
        let env = std::env::var("DOUDI_CJK_FONT").unwrap_or_default();
        if !env.trim().is_empty() && env != "none" {
            paths.push(env.clone());
        }
        // `DOUDI_CJK_FONT=none` skips the search (English PNG labels).
        if env != "none" {
            paths.extend(CANDIDATES.iter().map(|s| s.to_string()));
        }
        for p in paths {
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font(PNG_FAMILY, FontStyle::Normal, bytes).is_ok()
                && plotters::style::register_font(SVG_FAMILY, FontStyle::Normal, bytes).is_ok()
            {
                let _ = PNG_FONT.set(bytes);
                return FontInfo {
                    cjk: true,
                    source: p,
                };
            }
        }
        let latin: &'static [u8] = ttf_noto_sans::REGULAR;
        let _ = plotters::style::register_font(PNG_FAMILY, FontStyle::Normal, latin);
        let _ = plotters::style::register_font(SVG_FAMILY, FontStyle::Normal, latin);
        let _ = PNG_FONT.set(latin);
        FontInfo {
            cjk: false,
            source: "embedded Noto Sans (English labels)".into(),
        }
    })
}

/// Which labels to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Chinese and English.
    Both,
    English,
}

/// A label in both languages.
#[derive(Debug, Clone)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }
    pub fn get(&self, lang: Lang) -> String {
        match lang {
            Lang::Both if self.zh.is_empty() => self.en.clone(),
            Lang::Both => format!("{} {}", self.zh, self.en),
            Lang::English => self.en.clone(),
        }
    }
}

/// One line, with an optional band (5th–95th percentile).
#[derive(Debug, Clone)]
pub struct Line {
    pub name: Text,
    pub color: RGBColor,
    pub values: Vec<f64>,
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    pub dashed: bool,
}

/// A chart of lines over an x axis (months, or the values of a sweep).
#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: Text,
    pub y_label: Text,
    /// x positions and their tick labels.
    pub x: Vec<f64>,
    pub x_labels: Vec<String>,
    pub x_label: Text,
    pub lines: Vec<Line>,
    /// Draw a zero line (differences).
    pub zero_line: bool,
    /// Start the y axis at zero (else it fits the data, with a margin).
    pub from_zero: bool,
}

/// Horizontal stacked bars of shares (winners and losers).
#[derive(Debug, Clone)]
pub struct StackedBars {
    pub title: Text,
    pub rows: Vec<Text>,
    pub segments: Vec<(Text, RGBColor)>,
    /// `values[row][segment]`, shares 0..1.
    pub values: Vec<Vec<f64>>,
}

pub enum Chart {
    Lines(LineChart),
    Stacked(StackedBars),
}

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 520;

/// Writes `<base>.svg` (and `<base>.png` when `png`). Returns the SVG text.
pub fn write(chart: &Chart, base: &Path, png: bool) -> Result<String, String> {
    let info = fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(chart, root, Lang::Both, SVG_FAMILY)?;
    }
    std::fs::write(base.with_extension("svg"), &svg)
        .map_err(|e| format!("{}: {e}", base.with_extension("svg").display()))?;
    if png {
        let path = base.with_extension("png");
        let lang = if info.cjk { Lang::Both } else { Lang::English };
        let inner = BitMapBackend::new(&path, (WIDTH, HEIGHT));
        let font = PNG_FONT
            .get()
            .and_then(|b| ab_glyph::FontRef::try_from_slice(b).ok());
        match font {
            Some(font) => draw(
                chart,
                super::png_text::PngText { inner, font }.into_drawing_area(),
                lang,
                PNG_FAMILY,
            ),
            None => draw(chart, inner.into_drawing_area(), lang, PNG_FAMILY),
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(svg)
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("chart: {e:?}")
}

fn draw<DB: DrawingBackend>(
    chart: &Chart,
    root: DrawingArea<DB, Shift>,
    lang: Lang,
    family: &str,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    match chart {
        Chart::Lines(c) => draw_lines(c, &root, lang, family)?,
        Chart::Stacked(c) => draw_stacked(c, &root, lang, family)?,
    }
    root.present().map_err(err)
}

/// The y-axis scale: money is always in 万元 (the chart's y label says so), counts as they are.
fn unit(money: bool) -> f64 {
    if money {
        1e4
    } else {
        1.0
    }
}

/// A y tick with as many decimals as the axis's steps need (the same for every tick of an axis),
/// thousands grouped.
fn fmt_tick(v: f64, range: f64) -> String {
    let step = (range / 10.0).abs();
    let decimals = if step > 0.0 {
        (-step.log10()).ceil().clamp(0.0, 3.0) as usize
    } else {
        0
    };
    if v.abs() < 1e-12 {
        return "0".into();
    }
    super::html::group(&format!("{v:.decimals$}"))
}

fn draw_lines<DB: DrawingBackend>(
    c: &LineChart,
    root: &DrawingArea<DB, Shift>,
    lang: Lang,
    family: &str,
) -> Result<(), String> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for l in &c.lines {
        for v in l
            .values
            .iter()
            .chain(l.band.iter().flat_map(|(a, b)| a.iter().chain(b.iter())))
        {
            if v.is_finite() {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if c.zero_line || c.from_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if (hi - lo).abs() < 1e-9 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.06;
    if !(c.zero_line || c.from_zero) {
        lo -= pad;
    }
    let money = c.y_label.en.contains("yuan");
    let scale = unit(money);
    let (y0, y1) = (
        (lo - if lo < 0.0 { pad } else { 0.0 }) / scale,
        (hi + pad) / scale,
    );
    let x0 = c.x.first().copied().unwrap_or(0.0);
    let mut x1 = c.x.last().copied().unwrap_or(1.0);
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let y_label = c.y_label.get(lang);
    // The legend goes below the plot, in rows, so that it never hides a line.
    let items: Vec<(String, RGBColor, bool)> = c
        .lines
        .iter()
        .map(|l| (l.name.get(lang), l.color, l.dashed))
        .collect();
    let font = (family, 13).into_font();
    let (widths, rows) = legend_rows(&items, &font);
    let legend_h = if items.is_empty() {
        0
    } else {
        8 + 22 * rows.len() as u32
    };
    let (plot, legend) = root.split_vertically(HEIGHT - legend_h);
    let mut ch = ChartBuilder::on(&plot)
        .caption(c.title.get(lang), (family, 22))
        .margin(16)
        // Room for the last tick label, centred on the right edge of the plot.
        .margin_right(44)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let xs = c.x.clone();
    let labels = c.x_labels.clone();
    let nticks = xs.len().clamp(2, 12);
    ch.configure_mesh()
        .x_labels(nticks)
        .x_label_formatter(&|v: &f64| {
            let i = xs.iter().position(|x| (x - v).abs() < 1e-6).or_else(|| {
                xs.iter()
                    .enumerate()
                    .min_by(|a, b| (a.1 - v).abs().total_cmp(&(b.1 - v).abs()))
                    .map(|(i, _)| i)
            });
            i.and_then(|i| labels.get(i).cloned()).unwrap_or_default()
        })
        .y_label_formatter(&|v: &f64| fmt_tick(*v, y1 - y0))
        .x_desc(c.x_label.get(lang))
        .y_desc(y_label)
        .label_style((family, 14))
        .axis_desc_style((family, 15))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err)?;
    for l in &c.lines {
        if let Some((a, b)) = &l.band {
            let mut pts: Vec<(f64, f64)> =
                c.x.iter().zip(a).map(|(x, y)| (*x, y / scale)).collect();
            pts.extend(c.x.iter().zip(b).rev().map(|(x, y)| (*x, y / scale)));
            ch.draw_series(std::iter::once(Polygon::new(pts, l.color.mix(0.18))))
                .map_err(err)?;
        }
    }
    if c.zero_line {
        ch.draw_series(LineSeries::new(
            [(x0, 0.0), (x1, 0.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(err)?;
    }
    for l in &c.lines {
        let pts: Vec<(f64, f64)> =
            c.x.iter()
                .zip(&l.values)
                .map(|(x, y)| (*x, y / scale))
                .collect();
        let style = l.color.stroke_width(if l.dashed { 2 } else { 3 });
        let color = l.color;
        if l.dashed {
            ch.draw_series(DashedLineSeries::new(pts, 8, 5, style))
                .map_err(err)?
                .label(l.name.get(lang))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        } else {
            ch.draw_series(LineSeries::new(pts.clone(), style))
                .map_err(err)?
                .label(l.name.get(lang))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            if c.x.len() <= 30 {
                ch.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(err)?;
            }
        }
    }
    draw_legend(&legend, &rows, &items, &widths, &font)?;
    Ok(())
}

/// The legend's rows (indices into `items`) and each item's width, rows filled up to the chart's
/// width.
fn legend_rows(
    items: &[(String, RGBColor, bool)],
    font: &FontDesc<'_>,
) -> (Vec<i32>, Vec<Vec<usize>>) {
    // ab_glyph measures at a smaller em than the SVG font size browsers use: leave room (×1.3).
    let widths: Vec<i32> = items
        .iter()
        .map(|(t, _, _)| {
            let fallback = t
                .chars()
                .map(|c| if c.is_ascii() { 7 } else { 13 })
                .sum::<i32>();
            let measured = font.box_size(t).map(|(w, _)| w as i32).unwrap_or(fallback);
            (measured * 13 / 10).max(fallback) + 44
        })
        .collect();
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    let mut x = 0;
    for (i, w) in widths.iter().enumerate() {
        if x + w > WIDTH as i32 - 100 && !rows.last().is_none_or(|r| r.is_empty()) {
            rows.push(Vec::new());
            x = 0;
        }
        x += w;
        if let Some(r) = rows.last_mut() {
            r.push(i);
        }
    }
    (widths, rows)
}

/// Draws the legend below the plot: a line (dashed or not) and the name of each item, row by row.
fn draw_legend<DB: DrawingBackend>(
    legend: &DrawingArea<DB, Shift>,
    rows: &[Vec<usize>],
    items: &[(String, RGBColor, bool)],
    widths: &[i32],
    font: &FontDesc<'_>,
) -> Result<(), String> {
    for (ri, row) in rows.iter().enumerate() {
        let mut x = 90;
        let y = 4 + 22 * ri as i32;
        for &i in row {
            let (text, color, dashed) = &items[i];
            let style = if *dashed {
                color.stroke_width(2)
            } else {
                color.stroke_width(3)
            };
            if *dashed {
                legend
                    .draw(&PathElement::new(vec![(x, y + 9), (x + 10, y + 9)], style))
                    .map_err(err)?;
                legend
                    .draw(&PathElement::new(
                        vec![(x + 16, y + 9), (x + 26, y + 9)],
                        style,
                    ))
                    .map_err(err)?;
            } else {
                legend
                    .draw(&PathElement::new(vec![(x, y + 9), (x + 26, y + 9)], style))
                    .map_err(err)?;
            }
            legend
                .draw(&plotters::element::Text::new(
                    text.clone(),
                    (x + 32, y + 2),
                    font.clone(),
                ))
                .map_err(err)?;
            x += widths[i];
        }
    }
    Ok(())
}

fn draw_stacked<DB: DrawingBackend>(
    c: &StackedBars,
    root: &DrawingArea<DB, Shift>,
    lang: Lang,
    family: &str,
) -> Result<(), String> {
    let n = c.rows.len().max(1);
    let (main, legend) = root.split_vertically(HEIGHT - 60);
    let mut ch = ChartBuilder::on(&main)
        .caption(c.title.get(lang), (family, 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..100.0f64, 0.0..n as f64)
        .map_err(err)?;
    let rows = c.rows.clone();
    ch.configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|v: &f64| {
            let f = v.fract();
            if (f - 0.5).abs() < 1e-6 {
                let i = (n as f64 - v - 0.5).round() as usize;
                rows.get(i).map(|r| r.get(lang)).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|v: &f64| format!("{v:.0}%"))
        .x_desc(Text::new("户数占比", "Share of households").get(lang))
        .label_style((family, 14))
        .axis_desc_style((family, 15))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err)?;
    for (ri, row) in c.values.iter().enumerate() {
        let y = (n - 1 - ri) as f64;
        let mut x = 0.0;
        for (si, v) in row.iter().enumerate() {
            let w = (v * 100.0).max(0.0);
            if w > 0.0 {
                let color = c.segments.get(si).map(|s| s.1).unwrap_or(BLACK);
                ch.draw_series(std::iter::once(Rectangle::new(
                    [(x, y + 0.15), (x + w, y + 0.85)],
                    color.filled(),
                )))
                .map_err(err)?;
            }
            x += w;
        }
    }
    // Legend below the chart.
    let k = c.segments.len().max(1) as i32;
    let width = (WIDTH as i32 - 20) / k;
    for (i, (name, color)) in c.segments.iter().enumerate() {
        let x = 10 + i as i32 * width;
        legend
            .draw(&Rectangle::new([(x, 20), (x + 18, 38)], color.filled()))
            .map_err(err)?;
        legend
            .draw(&plotters::element::Text::new(
                name.get(lang),
                (x + 24, 22),
                (family, 12).into_font(),
            ))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fmt_tick;

    #[test]
    fn ticks_of_an_axis_have_the_same_decimals() {
        assert_eq!(
            [0.5, 1.0, 1.5].map(|v| fmt_tick(v, 1.8)),
            ["0.5", "1.0", "1.5"]
        );
        assert_eq!([0.02, 0.1].map(|v| fmt_tick(v, 0.12)), ["0.02", "0.10"]);
        assert_eq!(
            [5000.0, 120000.0].map(|v| fmt_tick(v, 130000.0)),
            ["5,000", "120,000"]
        );
        assert_eq!(fmt_tick(0.0, 1.0), "0");
    }
}
