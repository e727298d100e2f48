"""The fixed text of the exported training script (train_script.py fills in the blanks).

Each piece is a function or two of the script; `$name` places take values train_script.py has
made safe (numbers, checked choices, literals from `quoted`).
"""

from __future__ import annotations

from string import Template

LOAD_DATA = '''
def load_data(data_dir):
    """The splits as tensors, prepared exactly as dlbuilder's own trainer prepares them.

    dlbuilder is imported here, not at the top: the class above needs only torch.
    """
    from dlbuilder.backend.datasets import load_dataset
    from dlbuilder.backend.prepare import prepare_data

    dataset = load_dataset(DATASET, data_dir)
    return prepare_data(
        dataset,
        val_split=VAL_SPLIT,
        seed=SEED,
        normalize=NORMALIZE,
        input_shape=INPUT_SHAPE,
    )
'''

OPTIMIZER = Template('''
def make_optimizer(model):
    """$name with the settings above."""
$call
''')

# Fine-tuning (the graph's frozen layers and learning-rate multipliers), only where it has any.
TUNING_NOTE = """\
# Fine-tuning, from the graph: the FROZEN layers keep their weights (no gradient, left
# out of the optimizer, and their BatchNorm keeps its running statistics); a layer in
# LR_SCALES learns at LR times its factor (the longest name a parameter lies under)."""

FREEZE = '''
def freeze(net):
    """Freeze the FROZEN layers; returns their BatchNorm layers, which train_epoch keeps
    in eval mode so that they use, and keep, their running statistics."""
    norms = []
    for name in FROZEN:
        layer = net.get_submodule(name)
        layer.requires_grad_(False)
        for module in layer.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                norms.append(module)
    return norms
'''

LOAD_START = '''
def load_starting_weights(net):
    """Start from the weights in INIT_WEIGHTS, a state_dict beside this file, as
    dlbuilder's trainer does: every tensor whose name and shape fit is kept, and the
    layers that do not fit (a head replaced for other classes) start from new weights,
    each one named."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), INIT_WEIGHTS)
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = net.state_dict()
    kept = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    if not kept:
        raise SystemExit(f"{path}: none of its weights fit this network")
    net.load_state_dict({**own, **kept})
    log(f"starting from the weights of {INIT_WEIGHTS}")
    for layer in sorted({key.rpartition(".")[0] for key in own if key not in kept}):
        log(f"{layer}: not in {INIT_WEIGHTS}, or resized; it starts from new weights")
'''

KEEP_FROZEN = """
    for norm in frozen_norms:
        norm.eval()  # frozen: keeps its running statistics"""

LR_SCALE = '''
def lr_scale(name):
    """A parameter's learning-rate factor: that of the longest LR_SCALES name it lies
    under, 1 for the others."""
    under = [layer for layer in LR_SCALES if name.startswith(layer + ".")]
    return LR_SCALES[max(under, key=len)] if under else 1.0
'''

SCALED_OPTIMIZER = Template('''
def make_optimizer(model):
    """$name with the settings above, for the parameters that train (frozen ones are
    left out), each at LR times its lr_scale."""
    groups = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups.setdefault(lr_scale(name), []).append(param)
    params = [{"params": group, "lr": LR * scale} for scale, group in groups.items()]
$call
''')

FROZEN_OPTIMIZER = Template('''
def make_optimizer(model):
    """$name with the settings above, for the parameters that train (frozen ones are
    left out)."""
    params = [param for param in model.parameters() if param.requires_grad]
$call
''')

COSINE = Template('''
def make_scheduler(optimizer, epochs):
    """Cosine annealing of the learning rate from LR towards 0 over the epochs."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
''').substitute()

STEP = Template('''
def make_scheduler(optimizer, epochs):
    """The learning rate times GAMMA every step_size epochs."""
    step_size = $step
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=GAMMA)
''')

PLATEAU = Template('''
def make_scheduler(optimizer, epochs):
    """The learning rate times GAMMA when $monitor stops improving."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="$mode", factor=GAMMA, patience=PLATEAU_PATIENCE, eps=0.0
    )
''')

AUGMENT = '''
def make_augment(data, device):
    """Random shifts by up to AUGMENT_SHIFT pixels and left-right flips, made as
    dlbuilder's trainer makes them; the edge that comes in is a blank pixel (as it
    looks after preprocessing)."""
    from dlbuilder.backend.augment import augment

    fill = data.preprocessing.blank().to(device)
    generator = torch.Generator().manual_seed(SEED + rank_and_world()[0])
    return lambda x: augment(x, AUGMENT_SHIFT, AUGMENT_FLIP, generator, fill)
'''

SETUP = '''
def parse_args(argv):
    parser = argparse.ArgumentParser(description="Train the network defined above.")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--data-dir", default=DATA_DIR, help="the dataset's folder")
    parser.add_argument("--save-weights", metavar="W.pt", help="save the weights there")
    devices = ["auto", "cpu", "cuda", "mps"]
    parser.add_argument("--device", choices=devices, default=DEVICE)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


def setup(device_name):
    """The device to train on; under torchrun, join the other processes first."""
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    if "RANK" not in os.environ:  # started by plain python: one process
        return torch.device(device_name)
    if device_name == "cuda":  # one GPU per process
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    else:
        device = torch.device(device_name)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def rank_and_world():
    """This process's number and how many there are (0 and 1 without torchrun)."""
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def log(message):
    """Print once: under torchrun, only the first process (rank 0) prints."""
    if rank_and_world()[0] == 0:
        print(message, flush=True)


def all_sum(values, device):
    """The values added up over all processes (as they are with one process)."""
    if not dist.is_initialized():
        return values
    totals = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(totals)
    return totals.tolist()


def make_loader(x, y):
    """Shuffled training batches; under torchrun each process gets its own share."""
    dataset = TensorDataset(x, y)
    if dist.is_initialized():
        sampler = DistributedSampler(dataset, shuffle=True, seed=SEED)
        return DataLoader(dataset, batch_size=BATCH_SIZE, sampler=sampler)
    generator = torch.Generator().manual_seed(SEED)
    return DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
'''

TRAIN_EPOCH = Template('''
def train_epoch(model, loader, optimizer, device$args$frozen_arg):
    """One pass over the training batches: the mean $what over all
    processes, and the first batch's loss (to see how far it fell)."""
    model.train()$keep_frozen
    loss_sum = ${correct_init}count = 0.0
    first = None
    for x, y in loader:
        x, y = x.to(device), y.to(device)$augment
        out = model(x)
        loss = LOSS_FN(out, $target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if first is None:
            first = loss.item()
        loss_sum += loss.item() * len(x)$correct_step
        count += len(x)
    loss_sum$correct, count, first = all_sum([loss_sum$correct, count, first], device)
    first /= rank_and_world()[1]
    return {
        "loss": loss_sum / count,$accuracy
        "first_batch_loss": first,
    }
''')

EVALUATE = Template('''
def evaluate(net, inputs, labels, device):
    """The mean $what on a split, in eval mode (no dropout, batch norm's
    running statistics); under torchrun each process scores every N-th sample."""
    rank, world = rank_and_world()
    inputs, labels = inputs[rank::world], labels[rank::world]
    net.eval()
    loss_sum = ${correct_init}0.0
    with torch.inference_mode():
        for x, y in zip(inputs.split(EVAL_BATCH_SIZE), labels.split(EVAL_BATCH_SIZE)):
            x, y = x.to(device), y.to(device)
            out = net(x)
            loss = LOSS_FN(out, $target)
            loss_sum += loss.item() * len(x)$correct_step
    loss_sum$correct, count = all_sum([loss_sum$correct, len(inputs)], device)
    return {"loss": loss_sum / count$accuracy}
''')

FIT_AUGMENT = "\n    augment = make_augment(data, device)"
FIT_VALIDATE = "\n        val = evaluate(net, data.val_x, data.val_y, device)"

EARLY_STOP = Template('''
        elif epoch - best_epoch >= PATIENCE:
            log(f"early stop: $monitor did not improve for {PATIENCE} epochs")
            break''')

FIT = Template('''
def fit(model, net, data, device, epochs$frozen_arg):
    """Train for the epochs (fewer if early stopping ends it), then keep the weights of
    the epoch with the best $monitor."""
    optimizer = make_optimizer($optimized)$scheduler
    loader = make_loader(data.train_x, data.train_y)$augment
    best, best_epoch, best_state = None, 0, None
    for epoch in range(1, epochs + 1):
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)  # a different shuffle in every epoch
        train = train_epoch(model, loader, optimizer, device$augment_arg$frozen_arg)$validate
        log(
            f"epoch {epoch}/{epochs}: $train_text"
            f" (first batch {train['first_batch_loss']:.4f})"$val_text
        )
        monitored = $monitored$step
        if best is None or monitored $better best:
            best, best_epoch = monitored, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}$stop
    net.load_state_dict(best_state)
    log(f"kept the weights of epoch {best_epoch} ($monitor {best:.4f})")
''')

SAVE = '''
def save_weights(net, path, preprocessing):
    """A plain state_dict (see the top of the file), with dlbuilder's preprocessing
    beside it (path + ".json"): `dlbuilder predict` then prepares inputs as here."""
    from dlbuilder.backend.prepare import save_preprocessing

    torch.save(net.state_dict(), path)
    save_preprocessing(path, preprocessing)
'''

COMPILE = """
    if COMPILE:  # torch.compile: faster batches after a slow first one
        model = torch.compile(model)"""

MAIN = Template('''
def run(args, device):
    """Load the data, build the model, train it, test it and save it."""
    rank, world = rank_and_world()
    if rank > 0:
        dist.barrier()  # the first process loads (maybe downloads) the data alone first
    data = load_data(args.data_dir)
    if rank == 0 and world > 1:
        dist.barrier()
    torch.manual_seed(SEED)  # the same initial weights in every process
    net = $cls().to(device)$start$freeze
    model = net
    if dist.is_initialized():  # averages the gradients of all processes at every step
        ids = [device.index] if device.type == "cuda" else None
        # DDP gets a group of its own: torch keeps that one until the process exits,
        # while the default group (all_sum's) must close cleanly at the end.
        group = dist.new_group()
        model = DistributedDataParallel(net, device_ids=ids, process_group=group)$compile
    log(f"training on {len(data.train_y)} samples, {world} process(es), {device.type}")
    fit(model, net, data, device, args.epochs$frozen_arg)
    if data.test_x is not None:
        test = evaluate(net, data.test_x, data.test_y, device)
        log(f"$test_text")
    if args.save_weights and rank == 0:
        save_weights(net, args.save_weights, data.preprocessing)
        log(f"saved the weights to {args.save_weights}")


def main(argv=None):
    """Train with the settings above, in one process or in each one torchrun starts."""
    args = parse_args(argv)
    device = setup(args.device)
    run(args, device)
    if dist.is_initialized():  # after run() has returned and so let go of DDP
        dist.destroy_process_group()
''')
