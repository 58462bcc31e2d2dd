/**
 * A small loss chart on a canvas (no chart library): one line, log-scaled y when the values span
 * more than a decade, crisp on high-DPI screens.
 */

/** Draws `values` (one per epoch) into `canvas`. */
export function drawLossChart(canvas: HTMLCanvasElement, values: readonly number[], label = 'loss'): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(200, canvas.clientWidth);
  const hgt = Math.max(120, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  const pad = { l: 56, r: 14, t: 14, b: 28 };
  const pw = w - pad.l - pad.r;
  const ph = hgt - pad.t - pad.b;
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#5d6677';
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  if (finite.length === 0) {
    ctx.fillText('the loss curve appears here while training', pad.l, pad.t + ph / 2);
    return;
  }
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const log = hi / lo > 10;
  const f = (v: number): number => (log ? Math.log10(v) : v);
  const yLo = f(lo);
  const yHi = f(hi) === yLo ? yLo + 1 : f(hi);
  const x = (i: number): number => pad.l + (values.length <= 1 ? 0 : (i / (values.length - 1)) * pw);
  const y = (v: number): number => pad.t + ph - ((f(v) - yLo) / (yHi - yLo)) * ph;
  // axes and ticks
  ctx.strokeStyle = '#dde1e8';
  ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const yy = pad.t + (k / 4) * ph;
    ctx.beginPath();
    ctx.moveTo(pad.l, yy);
    ctx.lineTo(pad.l + pw, yy);
    ctx.stroke();
    const val = yHi - (k / 4) * (yHi - yLo);
    const shown = log ? 10 ** val : val;
    ctx.fillText(shown < 0.01 || shown >= 1000 ? shown.toExponential(1) : shown.toFixed(3), 4, yy + 4);
  }
  ctx.fillText(`epoch ${values.length}`, pad.l + pw - 60, hgt - 8);
  ctx.fillText(log ? `${label} (log scale)` : label, pad.l, hgt - 8);
  ctx.strokeStyle = '#3056d3';
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    if (!Number.isFinite(v) || v <= 0) return;
    if (i === 0) ctx.moveTo(x(i), y(v));
    else ctx.lineTo(x(i), y(v));
  });
  ctx.stroke();
}
