//! LOLWUT, as Redis 7.0 answers it: its version line, or with `VERSION 5`
//! Georg Nees's Schotter drawn in Braille dots (Redis 5's piece; its rows
//! past the second are randomly displaced, so only the first two are the
//! same from run to run).

use bytes::Bytes;
use ferrokv_commands::cmd;
use rand::Rng;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;

pub static COMMANDS: &[Command] =
    &[cmd!("lolwut", "5.0.0", -1, READONLY | FAST, &[], (0, 0, 0), lolwut, "server", "Display some computer art and the Redis version")];

/* LOLWUT [VERSION version] [...] */
fn lolwut(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut version = crate::REDIS_VERSION.split('.').next().and_then(|v| v.parse::<i64>().ok()).unwrap_or(7);
    let mut rest = &args[1..];
    if args.len() >= 3 && args::is(&args[1], "version") {
        version = args::int(&args[2])?;
        rest = &args[3..];
    }
    let text = if version == 5 { schotter(rest)? } else { format!("Redis ver. {}\n", crate::REDIS_VERSION) };
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/// `LOLWUT VERSION 5 [columns] [squares per row] [squares per column]`,
/// 66, 8 and 12 by default, clamped as Redis clamps them.
fn schotter(args: &[Bytes]) -> Result<String, crate::errors::RedisError> {
    let arg = |i: usize, default: i64, max: i64| -> Result<i64, crate::errors::RedisError> {
        Ok(match args.get(i) {
            Some(a) => args::int(a)?,
            None => default,
        }
        .clamp(1, max))
    };
    let (cols, per_row, per_col) = (arg(0, 66, 1000)?, arg(1, 8, 200)?, arg(2, 12, 200)?);
    let canvas = draw_schotter(cols as i32, per_row as i32, per_col as i32);
    let mut text = canvas.render();
    text.push_str("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.push_str(crate::REDIS_VERSION);
    text.push('\n');
    Ok(text)
}

struct Canvas {
    width: i32,
    height: i32,
    pixels: Vec<bool>,
}

impl Canvas {
    fn new(width: i32, height: i32) -> Canvas {
        Canvas { width, height, pixels: vec![false; (width.max(0) * height.max(0)) as usize] }
    }

    fn set(&mut self, x: i32, y: i32) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.pixels[(y * self.width + x) as usize] = true;
        }
    }

    fn get(&self, x: i32, y: i32) -> bool {
        (0..self.width).contains(&x) && (0..self.height).contains(&y) && self.pixels[(y * self.width + x) as usize]
    }

    /// Bresenham's line, as Redis's lwDrawLine.
    fn line(&mut self, (mut x1, mut y1): (i32, i32), (x2, y2): (i32, i32)) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let (sx, sy) = (if x1 < x2 { 1 } else { -1 }, if y1 < y2 { 1 } else { -1 });
        let mut err = dx - dy;
        loop {
            self.set(x1, y1);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// A square centred at (x, y), turned by `angle`, computed in the C
    /// original's mix of float and double so the pixels land alike.
    /// (1.4142135623 is the original's literal: √2 to its precision.)
    #[allow(clippy::approx_constant)]
    fn square(&mut self, x: i32, y: i32, size: f32, angle: f32) {
        let size = ((size as f64 / 1.4142135623) as f32).round();
        let mut k = (std::f64::consts::FRAC_PI_4 + angle as f64) as f32;
        let mut points = [(0, 0); 4];
        for p in &mut points {
            *p = (((k as f64).sin() * size as f64 + x as f64).round() as i32, ((k as f64).cos() * size as f64 + y as f64).round() as i32);
            k = (k as f64 + std::f64::consts::FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            self.line(points[j], points[(j + 1) % 4]);
        }
    }

    /// Each 2×4 block of pixels as one Braille character.
    fn render(&self) -> String {
        let mut text = String::new();
        for y in (0..self.height).step_by(4) {
            for x in (0..self.width).step_by(2) {
                let dots = [(0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 3), (1, 1, 4), (1, 2, 5), (0, 3, 6), (1, 3, 7)];
                let byte = dots.iter().filter(|(dx, dy, _)| self.get(x + dx, y + dy)).fold(0u32, |b, (_, _, bit)| b | (1 << bit));
                text.push(char::from_u32(0x2800 + byte).unwrap_or(' '));
            }
            if y != self.height - 1 {
                text.push('\n');
            }
        }
        text
    }
}

/// Schotter: rows of squares, more displaced and turned the lower they are.
fn draw_schotter(cols: i32, per_row: i32, per_col: i32) -> Canvas {
    let width = cols * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32 + (padding * 2) as f32) as i32;
    let mut canvas = Canvas::new(width, height);
    let mut rng = rand::rng();
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut sy = (y as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut angle = 0.0f32;
            if y > 1 {
                let mut r = || rng.random::<f32>() / per_col as f32 * y as f32 * if rng.random::<bool>() { -1.0 } else { 1.0 };
                let (r1, r2, r3) = (r(), r(), r());
                angle = r1;
                sx = (sx as f32 + r2 * side / 3.0) as i32;
                sy = (sy as f32 + r3 * side / 3.0) as i32;
            }
            canvas.square(sx, sy, side, angle);
        }
    }
    canvas
}
