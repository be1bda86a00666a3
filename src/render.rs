//! Temporary stand-in (not committed): the render branch provides the real module.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum View {
    Pie,
    Polar,
    Bars,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PieShape {
    Half,
    Full,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Palette {
    Rainbow,
    Post,
    Grey,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseSettings {
    pub amount: f32,
    pub seed: u64,
    pub per_frame: bool,
    pub blur_sigma: f32,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostChain {
    pub blur_sigma: f32,
    pub desaturate: bool,
    pub invert: bool,
    pub autocontrast: bool,
    pub autocontrast_cutoff_percent: f32,
    pub equalize: bool,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderSettings {
    pub view: View,
    pub pie_shape: PieShape,
    pub palette: Palette,
    pub size: u32,
    pub noise: NoiseSettings,
    pub post: PostChain,
}
impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            view: View::Pie,
            pie_shape: PieShape::Half,
            palette: Palette::Rainbow,
            size: 512,
            noise: NoiseSettings {
                amount: 0.5,
                seed: 0,
                per_frame: false,
                blur_sigma: 4.0,
            },
            post: PostChain {
                blur_sigma: 2.0,
                desaturate: true,
                invert: false,
                autocontrast: true,
                autocontrast_cutoff_percent: 0.0,
                equalize: false,
            },
        }
    }
}
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("image size {0} is outside 64..=2048 pixels")]
    Size(u32),
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorType {
    Grey,
    Rgb,
}
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub color: ColorType,
    pub pixels: Vec<u8>,
}
pub struct Renderer {
    settings: RenderSettings,
    image: Image,
}
impl Renderer {
    pub fn new(settings: &RenderSettings) -> Result<Self, RenderError> {
        if !(64..=2048).contains(&settings.size) {
            return Err(RenderError::Size(settings.size));
        }
        let color = if settings.post.desaturate {
            ColorType::Grey
        } else {
            ColorType::Rgb
        };
        let n =
            (settings.size * settings.size) as usize * if settings.post.desaturate { 1 } else { 3 };
        Ok(Self {
            settings: settings.clone(),
            image: Image {
                width: settings.size,
                height: settings.size,
                color,
                pixels: vec![0; n],
            },
        })
    }
    pub fn settings(&self) -> &RenderSettings {
        &self.settings
    }
    pub fn render(&mut self, _frame_idx: u64, unit_bins: &[f32]) -> &Image {
        let n = self.image.pixels.len();
        for (i, p) in self.image.pixels.iter_mut().enumerate() {
            *p = (unit_bins[i * unit_bins.len() / n] * 255.0) as u8;
        }
        &self.image
    }
}
pub fn output_color(settings: &RenderSettings) -> ColorType {
    if settings.post.desaturate {
        ColorType::Grey
    } else {
        ColorType::Rgb
    }
}
