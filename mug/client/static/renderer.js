// @ts-check
// Draws frames on the game canvas: RGBA images (rgb_array envs) and Surface draw lists
// (format: the docstring of mug/rendering/surface.py), scaled to the canvas.

/** @typedef {import("./worker_protocol.js").RenderPayload} RenderPayload */
/** @typedef {import("./worker_protocol.js").DrawCommand} DrawCommand */
/** @typedef {import("./worker_protocol.js").Pixels} Pixels */

const IMAGE = /\.(png|jpe?g|gif|webp|avif|svg|bmp|ico)$/i; // assets preloaded as images

export class Renderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("this browser cannot draw on a canvas");
    this.ctx = ctx;
    /** @type {Map<string, HTMLImageElement>} */
    this.images = new Map();
    /** @type {HTMLCanvasElement|null} scratch canvas for RGBA frames, resized as needed */
    this.scratch = null;
    /** @type {{width: number, height: number}} the surface of the frame drawn last (clicks map into it) */
    this.size = { width: canvas.width, height: canvas.height };
    /** @type {Map<string, string>} the scene's assets: name ("cat.png") -> content-versioned URL */
    this.assets = new Map();
  }

  /**
   * Takes the scene's assets (SceneSpec.assets) and loads every image among them, so the first frame can draw
   * its sprites. Resolves once all are decoded; an image that fails to load is logged, not waited for again.
   * @param {Object<string, string>} assets name -> URL
   * @returns {Promise<void>}
   */
  async preload(assets) {
    this.assets = new Map(Object.entries(assets));
    const images = [...this.assets].filter(([name]) => IMAGE.test(name));
    await Promise.all(images.map(([name, url]) => this.load(url).decode().catch((err) => {
      console.warn("mug: asset image not loaded", name, url, err);
    })));
  }

  /**
   * The URL of an image command's `src`: an asset's name, with or without "assets/", or any other URL as it is.
   * @param {string} src
   */
  resolve(src) {
    return this.assets.get(src) ?? this.assets.get(src.replace(/^(\.\/)?assets\//, "")) ?? src;
  }

  /** @param {string} url @returns {HTMLImageElement} the image of `url`, loading (once) */
  load(url) {
    let img = this.images.get(url);
    if (!img) {
      img = new Image();
      img.src = url;
      this.images.set(url, img);
    }
    return img;
  }

  /** @returns {{width: number, height: number}} the env's surface size: of the frame drawn last */
  surface() {
    return this.size;
  }

  /**
   * @param {RenderPayload} payload
   * @param {Pixels|null} pixels
   */
  draw(payload, pixels) {
    if (payload.kind === "rgb" && pixels) {
      this.size = { width: payload.width, height: payload.height };
      this.drawPixels(payload.width, payload.height, pixels);
    } else if (payload.kind === "draw") {
      this.size = { width: payload.width || this.canvas.width, height: payload.height || this.canvas.height };
      this.drawCommands(payload);
    }
  }

  /** @param {number} w @param {number} h @param {Pixels} pixels */
  drawPixels(w, h, pixels) {
    if (!this.scratch) this.scratch = document.createElement("canvas");
    const s = this.scratch;
    if (s.width !== w || s.height !== h) {
      s.width = w;
      s.height = h;
    }
    const sctx = /** @type {CanvasRenderingContext2D} */ (s.getContext("2d"));
    sctx.putImageData(new ImageData(pixels, w, h), 0, 0);
    this.ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(s, 0, 0, this.canvas.width, this.canvas.height);
  }

  /** @param {{width: number|null, height: number|null, commands: DrawCommand[]}} payload */
  drawCommands(payload) {
    const ctx = this.ctx;
    const sx = this.canvas.width / (payload.width || this.canvas.width);
    const sy = this.canvas.height / (payload.height || this.canvas.height);
    ctx.setTransform(sx, 0, 0, sy, 0, 0);
    ctx.imageSmoothingEnabled = true;
    for (const c of payload.commands) this.command(c, payload);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  /** @param {DrawCommand} c @param {{width: number|null, height: number|null}} size */
  command(c, size) {
    const ctx = this.ctx;
    ctx.fillStyle = ctx.strokeStyle = ("color" in c && c.color) || "#000000";
    ctx.lineWidth = ("width" in c ? c.width : undefined) ?? 1;
    switch (c.op) {
      case "fill":
        ctx.fillRect(0, 0, size.width || this.canvas.width, size.height || this.canvas.height);
        return;
      case "rect":
        ctx.beginPath();
        if (c.radius > 0) ctx.roundRect(c.x, c.y, c.w, c.h, c.radius);
        else ctx.rect(c.x, c.y, c.w, c.h);
        return this.paint(c.fill);
      case "circle":
        ctx.beginPath();
        ctx.arc(c.x, c.y, c.r, 0, 2 * Math.PI);
        return this.paint(c.fill);
      case "ellipse":
        ctx.beginPath();
        ctx.ellipse(c.x, c.y, c.rx, c.ry, c.rotation || 0, 0, 2 * Math.PI);
        return this.paint(c.fill);
      case "arc":
        ctx.beginPath();
        if (c.fill) ctx.moveTo(c.x, c.y);
        ctx.arc(c.x, c.y, c.r, c.start, c.end);
        if (c.fill) ctx.closePath();
        return this.paint(c.fill);
      case "line":
      case "polygon":
        ctx.beginPath();
        c.points.forEach((p, i) => (i ? ctx.lineTo(p[0], p[1]) : ctx.moveTo(p[0], p[1])));
        if (c.op === "polygon") ctx.closePath();
        return this.paint(c.op === "polygon" && c.fill);
      case "text":
        ctx.font = `${c.bold ? "bold " : ""}${c.size}px ${c.font || "sans-serif"}`;
        ctx.textAlign = c.align || "left";
        ctx.textBaseline = c.baseline || "top";
        ctx.fillText(c.text, c.x, c.y);
        return;
      case "image":
        return this.image(c);
      default:
        return; // unknown ops are skipped, so a newer env still draws on an older page
    }
  }

  /** @param {boolean} fill */
  paint(fill) {
    if (fill) this.ctx.fill();
    else this.ctx.stroke();
  }

  /** @param {Extract<DrawCommand, {op: "image"}>} c */
  image(c) {
    const img = this.load(this.resolve(c.src));
    if (!img.complete || img.naturalWidth === 0) return; // still loading (or broken): skip this frame
    if (c.frame) {
      const [fx, fy, fw, fh] = c.frame;
      this.ctx.drawImage(img, fx, fy, fw, fh, c.x, c.y, c.w, c.h);
    } else {
      this.ctx.drawImage(img, c.x, c.y, c.w, c.h);
    }
  }
}
