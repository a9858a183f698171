"""吹哨报到: matters a grid cannot settle are whistled to a department (`whistle`), whose liaisons
answer in chat (`liaison_commands`: 报到, 进展, 办结, 退回, 查) against the 报到 clock (`clock`)."""
