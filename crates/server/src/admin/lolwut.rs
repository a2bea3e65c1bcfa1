//! LOLWUT, as Redis 7.0 answers it: its version line; with `VERSION 5`
//! Georg Nees's Schotter drawn in Braille dots (Redis 5's piece; its rows
//! past the second are randomly displaced, so only the first two are the
//! same from run to run); with `VERSION 6` a random 8-bit city skyline in
//! the terminal's four grays (Redis 6's piece).

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
    // Redis prints the version as an unsigned int before choosing.
    let text = match version as u32 {
        5 => schotter(rest)?,
        6 => skyline(rest)?,
        _ => format!("Redis ver. {}\n", crate::REDIS_VERSION),
    };
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/// `LOLWUT VERSION 5 [columns] [squares per row] [squares per column]`,
/// 66, 8 and 12 by default, clamped as Redis clamps them.
fn schotter(args: &[Bytes]) -> Result<String, crate::errors::RedisError> {
    let arg = |i, default, max| clamped(args, i, default, max);
    let (cols, per_row, per_col) = (arg(0, 66, 1000)?, arg(1, 8, 200)?, arg(2, 12, 200)?);
    let canvas = draw_schotter(cols as i32, per_row as i32, per_col as i32);
    let mut text = canvas.render();
    text.push_str("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.push_str(crate::REDIS_VERSION);
    text.push('\n');
    Ok(text)
}

/// Argument `i` (an integer, else `default`), clamped to 1..=`max` as
/// Redis clamps LOLWUT's sizes.
fn clamped(args: &[Bytes], i: usize, default: i64, max: i64) -> Result<i64, crate::errors::RedisError> {
    Ok(args.get(i).map_or(Ok(default), |a| args::int(a))?.clamp(1, max))
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

/// `LOLWUT VERSION 6 [columns] [rows]`, 80 and 20 by default, each clamped
/// to 1..=1000 as Redis clamps them.
fn skyline(args: &[Bytes]) -> Result<String, crate::errors::RedisError> {
    let (cols, rows) = (clamped(args, 0, 80, 1000)?, clamped(args, 1, 20, 1000)?);
    let city = City::draw(cols as i32, rows as i32, &mut rand::rng());
    let mut text = city.render();
    text.push_str("\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. ");
    text.push_str(crate::REDIS_VERSION);
    text.push('\n');
    Ok(text)
}

/// A canvas of the four gray levels of a colour terminal (0 black … 3
/// white), which match the Game Boy's grayscale.
struct City {
    width: i32,
    height: i32,
    pixels: Vec<u8>,
}

/// C's `rand() % n` (`n` is at least 1).
fn below(rng: &mut impl Rng, n: i32) -> i32 {
    rng.random_range(0..n)
}

/// One building: where it starts, its size, its gray, lit windows or not.
struct Skyscraper {
    xoff: i32,
    width: i32,
    height: i32,
    windows: bool,
    color: u8,
}

impl City {
    /// Parallax layers as in 8-bit games: two rows of plain buildings, the
    /// lighter behind, then black ones with windows in front.
    fn draw(width: i32, height: i32, rng: &mut impl Rng) -> City {
        let mut city = City { width, height, pixels: vec![3; (width * height) as usize] };
        for color in [2u8, 1] {
            let mut offset = -10;
            while offset < width {
                offset += below(rng, 8);
                let w = 10 + below(rng, 9);
                // C's `h/2 + rand()%h/2`: the remainder is halved too.
                let h = if color == 2 { height / 2 + below(rng, height) / 2 } else { height / 2 + below(rng, height) / 3 };
                city.skyscraper(&Skyscraper { xoff: offset, width: w, height: h, windows: false, color }, rng);
                offset += if color == 2 { w / 2 } else { w + 1 };
            }
        }
        let mut offset = -10;
        while offset < width {
            offset += below(rng, 8);
            let mut w = 5 + below(rng, 14);
            if w % 4 != 0 {
                w += w % 3;
            }
            let h = height / 3 + below(rng, height) / 2;
            city.skyscraper(&Skyscraper { xoff: offset, width: w, height: h, windows: true, color: 0 }, rng);
            offset += w + 5;
        }
        city
    }

    fn get(&self, x: i32, y: i32) -> u8 {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.pixels[(x + y * self.width) as usize]
        } else {
            0
        }
    }

    fn set(&mut self, x: i32, y: i32, color: u8) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.pixels[(x + y * self.width) as usize] = color;
        }
    }

    /// A building standing on the bottom row, its roof two pixels narrower
    /// on each side; windows two pixels wide and one tall (terminal cells
    /// are not square), each in one of the grays the building is not.
    fn skyscraper(&mut self, s: &Skyscraper, rng: &mut impl Rng) {
        let bottom = self.height - 1;
        let top = bottom - s.height + 1;
        for y in (top..=bottom).rev() {
            for x in s.xoff..s.xoff + s.width {
                if y == top && (x <= s.xoff + 1 || x >= s.xoff + s.width - 2) {
                    continue;
                }
                let mut color = s.color;
                let inner = x > s.xoff + 1 && x < s.xoff + s.width - 2 && y > top + 1 && y < bottom - 1;
                if s.windows && inner {
                    let (relx, rely) = (x - (s.xoff + 1), y - (top + 1));
                    if (relx / 2) % 2 == 1 && rely % 2 == 1 {
                        color = loop {
                            let c = 1 + rng.random_range(0..2u8);
                            if c != s.color {
                                break c;
                            }
                        };
                        // Both pixels of a window share its colour.
                        if relx % 2 == 1 {
                            color = self.get(x - 1, y);
                        }
                    }
                }
                self.set(x, y, color);
            }
        }
    }

    /// Every pixel a space with the same foreground and background colour
    /// (terminals then agree on the result), rows separated by newlines.
    fn render(&self) -> String {
        const GRAYS: [&str; 4] = ["0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"];
        let mut text = String::with_capacity((self.width * self.height * 16) as usize);
        for y in 0..self.height {
            for x in 0..self.width {
                text.push_str("\x1b[");
                text.push_str(GRAYS[usize::from(self.get(x, y).min(3))]);
                text.push_str(" \x1b[0m");
            }
            if y != self.height - 1 {
                text.push('\n');
            }
        }
        text
    }
}
