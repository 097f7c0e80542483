/// The median of timed samples (the mean of the middle two for an even count): what the
/// tool's timing commands report, being steadier than the mean on a shared machine.
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "the median of no samples")
    let sorted = values.sorted(), middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
