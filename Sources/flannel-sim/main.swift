import Sim
import Foundation

// The scenario runner (`run`, `chaos`, `bench`) arrives with the simulator issue.
print("flannel-sim: the simulator's scenarios are not built yet; the in-memory etcd they will run on is in the Sim library.")
exit(2)
