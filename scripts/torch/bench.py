#!/usr/bin/env python3
# The workloads of `fewshot-lab bench` (src/bench.rs) in PyTorch on the CPU, for comparison
# line by line: training throughput of the reference CNN (Adam, batch 64), its forward latency
# (batch 1 and 64), meta-training step time (ProtoNet, FOMAML, second-order MAML; 5-way 1-shot,
# 5 queries, meta-batch 2, 3 inner steps) and the Playground's adaptation latency (prototype
# output layer, 10 head-only SGD steps, one prediction), on the reference CNN and on Conv-4.
# Same synthetic images (the project's SplitMix64 generator), layer shapes, normalisation, losses,
# optimiser settings, warm-ups, repeats and timed regions as the Rust code; one JSON line per
# figure with the keys, "bench", "batch" and "setting" values of the Rust side's Figure.
#
#   python3 scripts/torch/bench.py [--train-steps N] [--forward-repeats N] [--meta-repeats N]
#                                  [--threads N]
#
# Needs torch and numpy. Where PyTorch necessarily differs (second-order MAML by double
# backward, not finite-difference Hessian-vector products; only the "on the device" variant
# of the adaptation figures), the comments at those places say so.

import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# --- constants of the project ------------------------------------------------------------------

IMAGE_SIDE = 28  # src/data/mod.rs
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
NUM_CLASSES = 10
PIXEL_MEAN = 0.1307  # src/model/mod.rs: standardise()
PIXEL_STD = 0.3081
FEATURES = 64
REFERENCE_CHANNELS = 32  # src/model/reference.rs
REFERENCE_POOLED = ((IMAGE_SIDE - 2) // 2) ** 2  # 13 × 13
CONV4_CHANNELS = 64  # src/model/conv4.rs
CONV4_BLOCKS = 4
NORM_EPSILON = 1e-5
ADAM_BETAS = (0.9, 0.999)  # burn's AdamConfig defaults (no weight decay, no AMSGrad)
ADAM_EPSILON = 1e-5  # burn's default (PyTorch's own is 1e-8)
WARM_UP = 2  # src/bench.rs
PROTOTYPE_LOGIT_SCALE = 10.0  # src/meta/protonet.rs
SLICE_IMAGES = 2  # src/playground/adapt.rs: the support pass runs 2 images at a time

# --- the project's random generator and synthetic data -----------------------------------------

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


class Rng:
    """SplitMix64, as src/rng.rs."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + GAMMA) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        return ((self.next_u64() >> 32) * bound) >> 32

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def splitmix_below(seed, count, bound):
    """The first `count` values of Rng(seed).below(bound), vectorised (state_k = seed + k·γ)."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        return ((z >> np.uint64(32)) * np.uint64(bound)) >> np.uint64(32)


class ImageSet:
    """Labelled 28×28 images as bytes (src/data/mod.rs)."""

    def __init__(self, pixels, labels):
        self.pixels = pixels  # uint8 [n, 784]
        self.labels = labels  # uint8 [n]

    def __len__(self):
        return len(self.labels)

    def range(self, start, end):
        return ImageSet(self.pixels[start:end].copy(), self.labels[start:end].copy())

    def batch(self, indices):
        """ImageSet::batch: pixels / 255 as f32 [n, 1, 28, 28] and labels as i64 [n]."""
        n = len(indices)
        pixels = self.pixels[indices].astype(np.float32) / np.float32(255.0)
        images = torch.from_numpy(pixels).reshape(n, 1, IMAGE_SIDE, IMAGE_SIDE)
        labels = torch.from_numpy(self.labels[indices].astype(np.int64))
        return images, labels

    def to_batch(self):
        return self.batch(np.arange(len(self)))


def synthetic_images(n, seed):
    """src/bench.rs synthetic_images: class c = i % 10 draws rows 2c+4 and 2c+5 at 200 over
    noise below 40, the noise drawn pixel by pixel, in order, band pixels drawing nothing."""
    labels = (np.arange(n) % NUM_CLASSES).astype(np.uint8)
    rows = np.arange(IMAGE_PIXELS) // IMAGE_SIDE
    band = (rows[None, :] == 2 * labels[:, None].astype(np.int64) + 4) | (
        rows[None, :] == 2 * labels[:, None].astype(np.int64) + 5
    )
    pixels = np.full((n, IMAGE_PIXELS), 200, dtype=np.uint8)
    noise = ~band
    pixels[noise] = splitmix_below(seed, int(noise.sum()), 40).astype(np.uint8)
    return ImageSet(pixels, labels)


def support_set(way):
    """src/bench.rs support_set: `way · 5` synthetic images, labels taken modulo `way`."""
    s = synthetic_images(way * 5, 5)
    s.labels = (s.labels % way).astype(np.uint8)
    return s


class Episode:
    def __init__(self, support, query, classes):
        self.support, self.query, self.classes = support, query, classes


def partial_shuffle(items, count, rng):
    for i in range(min(count, len(items))):
        j = i + rng.below(len(items) - i)
        items[i], items[j] = items[j], items[i]


def sample_episode(images, members, allowed, way, shot, query, rng):
    """ClassPool::sample (src/data/episode.rs): classes in random label order, then shot +
    query distinct images of each, the first `shot` the support set."""
    classes = list(allowed)
    partial_shuffle(classes, way, rng)
    classes = classes[:way]
    parts = {"support": ([], []), "query": ([], [])}
    for label, c in enumerate(classes):
        chosen = list(members[c])
        partial_shuffle(chosen, shot + query, rng)
        for n, index in enumerate(chosen[: shot + query]):
            pixels, labels = parts["support" if n < shot else "query"]
            pixels.append(images.pixels[index])
            labels.append(label)
    make = lambda p, l: ImageSet(np.stack(p), np.array(l, dtype=np.uint8))
    return Episode(make(*parts["support"]), make(*parts["query"]), classes)


# --- the networks, as functions of their parameter lists ---------------------------------------
#
# Parameters follow burn's module order: the reference CNN's conv (weight, bias), hidden dense
# layer (weight, bias) and output layer (weight, bias); Conv-4's four blocks (conv weight, conv
# bias, norm scale, norm shift) then its output layer. Dense weights are [inputs, outputs], as
# burn's Linear stores them (x·W + b).


def uniform(shape, fan_in):
    # burn's default initialiser: Kaiming uniform with gain 1/√3, i.e. U(±1/√fan_in), weights
    # and biases alike (PyTorch's own default for Linear and Conv2d is the same distribution).
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)


def linear_params(inputs, outputs):
    return [uniform((inputs, outputs), inputs), uniform((outputs,), inputs)]


def conv_params(c_in, c_out):
    fan_in = c_in * 9
    return [uniform((c_out, c_in, 3, 3), fan_in), uniform((c_out,), fan_in)]


def init_params(backbone, classes):
    if backbone == "reference":
        tensors = (
            conv_params(1, REFERENCE_CHANNELS)
            + linear_params(REFERENCE_CHANNELS * REFERENCE_POOLED, FEATURES)
            + linear_params(FEATURES, classes)
        )
    else:
        tensors = []
        for i in range(CONV4_BLOCKS):
            tensors += conv_params(1 if i == 0 else CONV4_CHANNELS, CONV4_CHANNELS)
            tensors += [torch.ones(CONV4_CHANNELS), torch.zeros(CONV4_CHANNELS)]
        tensors += linear_params(CONV4_CHANNELS, classes)
    return [torch.nn.Parameter(t) for t in tensors]


def standardise(images):
    return (images - PIXEL_MEAN) / PIXEL_STD


def dense(x, weight, bias):
    return torch.addmm(bias, x, weight)


def reference_embed(p, images):
    """Conv2d(1→32, 3×3) → ReLU → MaxPool 2×2 → flatten → Dense(5408→64) → ReLU."""
    x = F.relu(F.conv2d(standardise(images), p[0], p[1]))
    x = F.max_pool2d(x, 2)
    return F.relu(dense(x.flatten(1), p[2], p[3]))


def channel_statistics(x):
    """Per-channel mean and (biased) variance over images and positions, [1, c, 1, 1] each."""
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    variance = (x - mean).pow(2).mean(dim=(0, 2, 3), keepdim=True)
    return mean, variance


def combined_statistics(parts):
    """ChannelStatistics::combined: several batches' statistics joined (Chan et al.)."""
    total = float(max(sum(n for _, n in parts), 1))
    mean = None
    for (m, _), n in parts:
        term = m * (n / total)
        mean = term if mean is None else mean + term
    variance = None
    for (m, v), n in parts:
        term = (v + (m - mean).pow(2)) * (n / total)
        variance = term if variance is None else variance + term
    return mean, variance


def support_norm(x, statistics, scale, shift):
    """SupportNorm: (x − mean) / √(var + 1e-5) · scale + shift, scale and shift learned."""
    mean, variance = statistics
    c = x.shape[1]
    return (x - mean) / (variance + NORM_EPSILON).sqrt() * scale.reshape(1, c, 1, 1) + shift.reshape(
        1, c, 1, 1
    )


def conv4_block_after_conv(p, block, convolved, statistics):
    scale, shift = p[4 * block + 2], p[4 * block + 3]
    return F.max_pool2d(F.relu(support_norm(convolved, statistics, scale, shift)), 2)


def conv4_conv(p, block, x):
    return F.conv2d(x, p[4 * block], p[4 * block + 1], padding=1)


def conv4_embed(p, images, reference=None, given=None):
    """Conv-4's features; each block normalised with the statistics of the first `reference`
    images (all by default), or with the `given` statistics of every block."""
    x = standardise(images)
    for block in range(CONV4_BLOCKS):
        convolved = conv4_conv(p, block, x)
        if given is not None:
            statistics = given[block]
        else:
            rows = convolved if reference is None else convolved.narrow(0, 0, reference)
            statistics = channel_statistics(rows)
        x = conv4_block_after_conv(p, block, convolved, statistics)
    return x.flatten(1)


def embed(backbone, p, images):
    """Network::embed: images that are their own reference set."""
    return reference_embed(p, images) if backbone == "reference" else conv4_embed(p, images)


def forward(backbone, p, images):
    return dense(embed(backbone, p, images), p[-2], p[-1])


def embed_task(backbone, p, support, query):
    """Network::embed_task: Conv-4 passes support and query together, normalised with the
    support set's statistics; the reference CNN embeds them apart."""
    if backbone == "reference":
        return reference_embed(p, support), reference_embed(p, query)
    s, q = support.shape[0], query.shape[0]
    features = conv4_embed(p, torch.cat([support, query], 0), reference=s)
    return features.narrow(0, 0, s), features.narrow(0, s, q)


def classify(backbone, p, support, query):
    """Network::classify: query logits, normalised (Conv-4) with the support statistics."""
    if backbone == "reference":
        features = reference_embed(p, query)
    else:
        features = embed_task(backbone, p, support, query)[1]
    return dense(features, p[-2], p[-1])


def support_pass(backbone, p, images, slice_images=None):
    """Network::support_pass(images, 2).finish() as the Playground takes it: the support set
    `slice_images` (default SLICE_IMAGES) images at a time; Conv-4 convolves slice by slice, combines the slices'
    statistics, then normalises, rectifies and pools slice by slice, block after block.
    Returns the features and (Conv-4) each block's statistics."""
    slices = list(images.split(slice_images or SLICE_IMAGES, 0))
    if backbone == "reference":
        return torch.cat([reference_embed(p, s) for s in slices], 0), []
    inputs = [standardise(s) for s in slices]
    recorded = []
    for block in range(CONV4_BLOCKS):
        convolved = [conv4_conv(p, block, x) for x in inputs]
        statistics = combined_statistics([(channel_statistics(c), c.shape[0]) for c in convolved])
        recorded.append(statistics)
        inputs = [conv4_block_after_conv(p, block, c, statistics) for c in convolved]
    return torch.cat(inputs, 0).flatten(1), recorded


def parameter_count(backbone, classes):
    return sum(t.numel() for t in init_params(backbone, classes))


def adam(params, lr):
    return torch.optim.Adam(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPSILON)


# --- timing and figures ------------------------------------------------------------------------


def now_ms():
    return time.perf_counter() * 1e3


def median(values):
    """src/bench.rs median: the upper median of an even count."""
    return sorted(values)[len(values) // 2]


def timed(repeats, work):
    """src/bench.rs time(): the median milliseconds of `repeats` runs after one warm-up run."""
    times = []
    for repeat in range(1 + max(repeats, 1)):
        started = now_ms()
        work()
        if repeat >= 1:
            times.append(now_ms() - started)
    return median(times)


def adapter():
    n = torch.get_num_threads()
    return f"PyTorch {torch.__version__} (CPU, {n} thread{'' if n == 1 else 's'})"


def figure(bench, batch, value, unit, repeats, setting=""):
    return {
        "bench": bench,
        "backend": "pytorch",
        "adapter": adapter(),
        "batch": batch,
        "setting": setting,
        "value": value if math.isfinite(value) else None,
        "unit": unit,
        "repeats": repeats,
    }


def emit(fig):
    print(json.dumps(fig, separators=(",", ":"), ensure_ascii=False), flush=True)


# --- training throughput and forward latency (src/bench.rs classic, src/train/mod.rs) ----------


def classic(plan):
    BATCH = 64
    steps = WARM_UP + plan.train_steps
    # synthetic_run: TrainConfig::new() (lr 3e-3, cosine decay, seed 42) with 1 epoch, batch 64,
    # the epoch capped at steps · 64 images; the device seeded with 42 before initialisation.
    train = synthetic_images(steps * BATCH, 1)
    torch.manual_seed(42)
    params = init_params("reference", NUM_CLASSES)
    optim = adam(params, 3e-3)
    order = list(range(len(train)))
    Rng(42).shuffle(order)
    order = np.array(order)
    base_lr, cursor = 3e-3, 0
    started = 0.0
    for step in range(steps):
        if step == WARM_UP:
            started = now_ms()
        end = min(cursor + BATCH, len(order))
        images, labels = train.batch(order[cursor:end])
        logits = forward("reference", params, images)
        loss = F.cross_entropy(logits, labels)
        correct = (logits.detach().argmax(1) == labels).int().sum()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        # The cosine schedule of TrainRun::learning_rate over the one epoch.
        progress = cursor / max(len(order), 1)
        lr = 0.5 * base_lr * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        for group in optim.param_groups:
            group["lr"] = lr
        optim.step()
        # One read-back of both figures, as the Rust step does.
        value, _ = torch.cat([loss.detach().reshape(1), correct.float().reshape(1)]).tolist()
        if not math.isfinite(value):
            raise RuntimeError(f"training diverged: the loss is {value}")
        cursor = end
    seconds = (now_ms() - started) / 1e3
    emit(
        figure(
            "train_images_per_s",
            BATCH,
            plan.train_steps * BATCH / seconds,
            "images/s",
            plan.train_steps,
        )
    )

    # Forward latency of the trained network, without autodiff: from the u8 pixels to the
    # read-back of the logits' sum.
    images = synthetic_images(BATCH, 2)
    for batch in (1, BATCH):
        indices = np.arange(batch)
        times = []
        with torch.no_grad():
            for repeat in range(WARM_UP + plan.forward_repeats):
                started = now_ms()
                x, _ = images.batch(indices)
                forward("reference", params, x).sum().item()
                if repeat >= WARM_UP:
                    times.append(now_ms() - started)
        emit(figure("forward_latency_ms", batch, median(times), "ms (median)", plan.forward_repeats))


# --- meta-learning (src/meta/protonet.rs, src/meta/maml.rs, src/meta/inner.rs) -----------------


class ProtoNet:
    """ProtoNet::new(backbone, 1e-3): a 10-way network whose output layer is never used (it
    gets no gradient, so Adam leaves it alone, as burn's does)."""

    def __init__(self, backbone):
        self.backbone = backbone
        self.params = init_params(backbone, NUM_CLASSES)
        self.optim = adam(self.params, 1e-3)

    def logits(self, task):
        way = len(task.classes)
        support, _ = task.support.to_batch()
        query, _ = task.query.to_batch()
        s, q = embed_task(self.backbone, self.params, support, query)
        n, features = s.shape
        # The sampler groups the support set by label, in label order.
        prototypes = s.reshape(way, n // way, features).mean(1)
        # Minus squared Euclidean distances, expanded as the Rust code computes them.
        cross = q.matmul(prototypes.t())
        query_norms = q.pow(2).sum(1, keepdim=True)
        prototype_norms = prototypes.pow(2).sum(1, keepdim=True).t()
        return cross * 2.0 - query_norms - prototype_norms

    def meta_step(self, tasks):
        losses = []
        for task in tasks:
            logits = self.logits(task)
            # The Rust code builds the query batch a second time for its labels.
            _, labels = task.query.to_batch()
            losses.append(F.cross_entropy(logits, labels).reshape(1))
        loss = torch.cat(losses, 0).mean()
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()
        return loss.detach()


class Maml:
    """Maml::new(backbone, MamlConfig::new(5, InnerLoop::new().with_steps(3))): a 5-way
    network; per task, 3 plain SGD steps at the default inner rate 0.1 on every parameter
    (norm scale and shift included) from the meta-learned network itself (no prototype layer:
    the default InnerLoop has proto_head false and the widths match), on the support
    cross-entropy with the support set as its own reference set; then the query cross-entropy
    with the support set's statistics. The meta-gradients of the tasks are averaged and applied
    with Adam at the default outer rate 1e-3.

    Second order: the Rust code unrolls the inner loop without a graph and runs the
    meta-gradient backwards through the steps with finite-difference Hessian-vector products
    of the support loss (ReLU and max-pool switches held as they were at each step). PyTorch
    differentiates twice, so here the inner steps are built with create_graph=True and the
    query loss is differentiated through them: the same Hessian terms (autograd's double
    backward holds the switches too), the same workload — a second-order MAML meta-step —
    computed by other arithmetic. First order (FOMAML): the inner steps carry no graph and the
    query gradient at the adapted weights is applied to the initial weights."""

    INNER_STEPS = 3
    INNER_LR = 0.1
    OUTER_LR = 1e-3
    WAY = 5

    def __init__(self, backbone, second_order):
        self.backbone = backbone
        self.second_order = second_order
        self.params = init_params(backbone, self.WAY)
        self.optim = adam(self.params, self.OUTER_LR)

    def task_gradient(self, task):
        support, support_labels = task.support.to_batch()
        query, query_labels = task.query.to_batch()
        if self.second_order:
            current = list(self.params)
        else:
            current = [p.detach().requires_grad_() for p in self.params]
        for _ in range(self.INNER_STEPS):
            loss = F.cross_entropy(forward(self.backbone, current, support), support_labels)
            grads = torch.autograd.grad(loss, current, create_graph=self.second_order)
            if self.second_order:
                current = [p - self.INNER_LR * g for p, g in zip(current, grads)]
            else:
                with torch.no_grad():
                    current = [p - self.INNER_LR * g for p, g in zip(current, grads)]
                current = [p.requires_grad_() for p in current]
        loss = F.cross_entropy(classify(self.backbone, current, support, query), query_labels)
        wrt = self.params if self.second_order else current
        # allow_unused: safety only; every parameter takes part in the query loss.
        grads = torch.autograd.grad(loss, wrt, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, grads)]
        return grads, loss.detach().reshape(1)

    def meta_step(self, tasks):
        gradients, losses = zip(*(self.task_gradient(task) for task in tasks))
        with torch.no_grad():
            for i, p in enumerate(self.params):
                total = gradients[0][i]
                for g in gradients[1:]:
                    total = total + g[i]
                p.grad = total * (1.0 / len(gradients))
        self.optim.step()
        return torch.cat(losses, 0).mean()


# --- the Playground's adaptation (src/playground/adapt.rs, "device" head steps) ----------------


def prototype_head_of(features, support, way):
    """src/meta/protonet.rs prototype_head_of: an output layer scoring each class by
    s · (2 cₖ·f − ‖cₖ‖²), cₖ the class's mean support feature, s setting the mean squared
    distance between prototypes to 10."""
    n = len(support)
    one_hot = np.zeros(n * way, dtype=np.float32)
    counts = np.zeros(way, dtype=np.float32)
    for index, label in enumerate(support.labels):
        one_hot[int(label) * n + index] = 1.0
        counts[int(label)] += 1.0
    membership = torch.from_numpy(one_hot).reshape(way, n)
    counts = torch.from_numpy(counts).reshape(way, 1)
    prototypes = membership.matmul(features) / counts.clamp_min(1.0)
    centre = prototypes.mean(0, keepdim=True)
    spread = (prototypes - centre).pow(2).sum(1).mean().reshape(1) * 2.0
    scale = (spread + 1e-6).reciprocal() * PROTOTYPE_LOGIT_SCALE
    weight = prototypes.t() * scale.reshape(1, 1) * 2.0
    bias = prototypes.pow(2).sum(1).neg() * scale
    # LinearConfig::new(features, way).init(): a fresh layer whose values are replaced at once.
    linear_params(features.shape[1], way)
    return weight, bias


def adaptation(backbone, params, support, way, slice_images=None):
    """Adaptation::with_head_steps(.., HeadSteps::Device) driven to its end, then
    probabilities() of the support set's first image: InnerLoop::new().with_steps(10)
    .with_lr(0.5).with_head_only(true).with_proto_head(true)."""
    steps, lr = 10, 0.5
    test = support.range(0, 1)
    with torch.no_grad():
        images, _ = support.to_batch()
        features, statistics = support_pass(backbone, params, images, slice_images)
        weight, bias = prototype_head_of(features, support, way)
        # InnerLoop::normaliser_of: the head-only rate is divided by mean ‖f‖² (+ 1e-6).
        normaliser = (features.pow(2).sum(1).mean().reshape(1) + 1e-6).reciprocal()
        rates = [(torch.zeros_like(t) + lr) * normaliser for t in (weight, bias)]
    for _ in range(steps):
        # Each device step builds the support batch (only its labels are used).
        _, labels = support.to_batch()
        head = [weight.requires_grad_(), bias.requires_grad_()]
        loss = F.cross_entropy(dense(features, *head), labels)
        grads = torch.autograd.grad(loss, head)
        with torch.no_grad():
            weight, bias = (t - r * g for t, r, g in zip(head, rates, grads))
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError("the loss diverged (NaN)")
    # The prediction reuses the support pass's statistics: the features did not change.
    with torch.no_grad():
        x, _ = test.to_batch()
        if backbone == "reference":
            query_features = reference_embed(params, x)
        else:
            query_features = conv4_embed(params, x, given=statistics)
        probabilities = F.softmax(dense(query_features, weight, bias), 1)
        return probabilities.tolist()


def meta(backbone, repeats):
    pool = synthetic_images(400, 3)
    members = [[i for i in range(len(pool)) if pool.labels[i] == c] for c in range(NUM_CLASSES)]
    rng = Rng(4)
    tasks = [
        sample_episode(pool, members, range(NUM_CLASSES), 5, 1, 5, rng) for _ in range(2)
    ]
    learners = [
        ("protonet_meta_step_ms", ProtoNet(backbone)),
        ("fomaml_meta_step_ms", Maml(backbone, second_order=False)),
        ("maml_meta_step_ms", Maml(backbone, second_order=True)),
    ]
    setting = (
        f"{backbone}, 5-way 1-shot, 5 queries, meta-batch 2, 3 inner steps (whole network)"
    )
    for bench, learner in learners:
        ms = timed(repeats, lambda: learner.meta_step(tasks).item())
        emit(figure(bench, 2 * 5 * 6, ms, "ms (median)", repeats, setting))

    # Network::new(backbone, 10) without autodiff: the features the Playground adapts.
    features = init_params(backbone, NUM_CLASSES)
    for p in features:
        p.requires_grad_(False)
    # The Rust bench also times "on the host" (head steps in plain Rust after one read-back of
    # the features); in PyTorch both would be the same torch ops on the CPU, so only the
    # "on the device" variant (head steps as tensor ops, the loss read back each step) is made.
    for way in (5, 10):
        support = support_set(way)
        ms = timed(repeats, lambda: adaptation(backbone, features, support, way))
        setting = (
            f"{backbone}, {way}-way 5-shot, prototype head + 10 head-only steps on the device, "
            "then one prediction"
        )
        emit(figure("adapt_latency_ms", way * 5, ms, "ms (median)", repeats, setting))
        # The same in PyTorch's own way, the support pass in one batch: no Rust peer (ours
        # slices it so that the page can breathe between slices), a row of its own.
        whole = len(support)
        ms = timed(repeats, lambda: adaptation(backbone, features, support, way, whole))
        setting += "; support pass in one batch"
        emit(figure("adapt_latency_ms", way * 5, ms, "ms (median)", repeats, setting))


# --- command line ------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description="The workloads of `fewshot-lab bench` in PyTorch.")
    parser.add_argument("--train-steps", type=int, default=50, help="training steps to time")
    parser.add_argument(
        "--forward-repeats", type=int, default=50, help="forward passes to time per batch size"
    )
    parser.add_argument(
        "--meta-repeats", type=int, default=5, help="meta-steps and adaptations to time per figure"
    )
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    plan = parser.parse_args()
    torch.set_num_interop_threads(1)
    torch.set_num_threads(plan.threads)
    for name, n in [
        ("training steps", plan.train_steps),
        ("forward repeats", plan.forward_repeats),
        ("meta repeats", plan.meta_repeats),
    ]:
        if n < 1:
            print(f"error: {name} must be at least 1", file=sys.stderr)
            return 1
    classic(plan)
    # The Rust bench's default backbones: reference,conv4.
    for backbone in ("reference", "conv4"):
        meta(backbone, plan.meta_repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
