import LifelineCore
print("lifeline \(LifelineVersion.string)")
